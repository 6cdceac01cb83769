"""Streaming ingest: changed files go through the executor and commit in batches, one generation each;
an interrupted ingest keeps its committed batches and the next one does the rest; --rebuild streams too."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

import ragkit
from ragkit.executors import make_executor
from ragkit.executors.base import Executor, FileTask, Prepared
from ragkit.executors.local import LocalExecutor
from ragkit.ingest import file_digest
from ragkit.ingest.plan import batches as _batches
from ragkit.store import Store
from tests.conftest import REPO, hash_config, write_files
from tests.test_ingest import assert_consistent


def batched_config(files: int = 2, size: int = 64_000_000):
    config = hash_config()
    config.ingest.batch_files = files
    config.ingest.batch_bytes = size
    return config


def corpus(folder: Path, n: int) -> Path:
    return write_files(folder, {f"f{i:02d}.txt": f"File number {i} talks about topic {i * 7}.\n\nA second paragraph {i}."
                                for i in range(n)})


class Recording:
    """A LocalExecutor that records, for each parse_chunk call, its files and the store's generation."""

    def __init__(self, kit):
        self.inner = LocalExecutor(kit.embedder)
        self.kit = kit
        self.calls: list[tuple[list[str], int]] = []
        self.embedded = 0

    def parse_chunk(self, tasks: Sequence[FileTask], options, chunker) -> Iterator[Prepared]:
        self.calls.append(([Path(t.source).name for t in tasks], self.kit.store.generation))
        return self.inner.parse_chunk(tasks, options, chunker)

    def embed(self, texts: Sequence[str]) -> list[np.ndarray]:
        self.embedded += len(texts)
        return self.inner.embed(texts)

    def close(self) -> None:
        self.inner.close()


def test_batches_commit_one_generation_each_through_the_executor(tmp_path: Path):
    docs = corpus(tmp_path / "docs", 5)
    kit = ragkit.open(tmp_path / "s", batched_config(files=2))
    recording = Recording(kit)
    assert isinstance(recording, Executor)
    events: list[tuple[str, int, int | None]] = []
    with kit.store.writer():
        from ragkit.ingest import Indexer

        indexer = Indexer(kit.store, kit.embedder, kit.chunker(), lambda *e: events.append(e), executor=recording)
        report = indexer.index_paths([docs])
    assert (report.added, report.updated, report.deleted, report.unchanged, report.failed) == (5, 0, 0, 0, [])
    assert report.chunks == kit.store.count_chunks() == recording.embedded
    # three batches, each parsed only after the previous one committed
    assert recording.calls == [(["f00.txt", "f01.txt"], 0), (["f02.txt", "f03.txt"], 1), (["f04.txt"], 2)]
    assert kit.store.generation == 3
    # progress runs on across batches and ends at the totals
    last = {stage: (done, total) for stage, done, total in events}
    assert last["parse"] == (5, 5) and last["chunk"] == (5, 5)
    assert last["embed"] == (report.chunks, report.chunks) and last["store"] == (report.chunks, report.chunks)
    assert all(done <= (total or done) for _, done, total in events)
    assert_consistent(kit)
    kit.close()


def test_deletes_and_failures_across_batches(tmp_path: Path):
    docs = corpus(tmp_path / "docs", 4)
    kit = ragkit.open(tmp_path / "s", batched_config(files=2))
    kit.index([docs])
    gen = kit.store.generation
    (docs / "f00.txt").unlink()
    (docs / "f03.txt").write_text("Changed text of file three.")
    (docs / "z_bad.txt").write_bytes(b"\x00\x01\x02binary\xff\xfe" * 50)
    (docs / "y_new.txt").write_text("A new file in the second batch.")
    report = kit.index([docs])
    assert (report.added, report.updated, report.deleted, report.unchanged) == (1, 1, 1, 2)
    assert [Path(f["path"]).name for f in report.failed] == ["z_bad.txt"]
    assert kit.store.generation == gen + 2  # [f03, y_new] with the delete, then [z_bad]
    assert {Path(d["source"]).name for d in kit.documents()} == {"f01.txt", "f02.txt", "f03.txt", "y_new.txt"}
    assert [Path(f["path"]).name for f in kit.store.failures()] == ["z_bad.txt"]
    (docs / "z_bad.txt").unlink()
    again = kit.index([docs])
    assert again.unchanged == 4 and kit.store.failures() == []
    assert_consistent(kit)
    kit.close()


def _harness(store: Path, docs: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tests.harness.index", str(store), str(docs), *extra], check=False,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, cwd=REPO, timeout=300)


def assert_checked(store: Path, documents: int) -> None:
    """The store holds ``documents`` and passes a deep ``ragkit check`` run in a fresh process (an
    embedded chroma caches its state per process, and the store was written by another one)."""
    reader = Store(store)
    assert len(reader.documents()) == documents and reader.get_meta("dirty") is False
    reader.close()
    proc = subprocess.run([sys.executable, "-m", "ragkit.cli.main", "check", "--store", str(store), "--json"], check=False,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0 and json.loads(proc.stdout)["ok"], proc.stdout + proc.stderr


def test_a_kill_keeps_the_committed_batches_and_the_next_index_does_the_rest(tmp_path: Path):
    docs = corpus(tmp_path / "docs", 7)
    store = tmp_path / "s"
    ragkit.open(store, batched_config(files=3)).close()
    killed = _harness(store, docs, "--kill-at", "manifest:2")  # during the second batch, before its commit
    assert killed.returncode == -9, killed.stderr
    kit = ragkit.open(store)
    assert sorted(Path(d["source"]).name for d in kit.documents()) == ["f00.txt", "f01.txt", "f02.txt"]
    assert kit.store.generation == 1
    committed = set(kit.store.all_chunk_ids())  # readable: both indexes hold every committed chunk
    assert committed <= kit.store.vectors.ids() and set(kit.store.lexical().ids) == committed
    kit.close()
    done = _harness(store, docs)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["added"], report["unchanged"]) == (4, 3)
    assert_checked(store, documents=7)


def test_batches_close_on_bytes_too(tmp_path: Path):
    tasks = [FileTask("r", f"p{i}", f"p{i}", "d", size) for i, size in enumerate([10, 10, 30, 5, 100, 1])]
    assert [[t.path for t in b] for b in _batches(tasks, 3, 25)] == [["p0", "p1"], ["p2"], ["p3"], ["p4"], ["p5"]]
    assert [len(b) for b in _batches(tasks, 4, 10**9)] == [4, 2]
    assert list(_batches([], 4, 10)) == []
    docs = write_files(tmp_path / "docs", {f"{c}.txt": c * 400 for c in "abcd"})
    kit = ragkit.open(tmp_path / "s", batched_config(files=100, size=900))
    kit.index([docs])
    assert kit.store.generation == 2  # 400 bytes each, at most 900 bytes a batch
    kit.close()


def test_the_scan_hashes_files_as_the_connectors_do(tmp_path: Path):
    from connectors.base import content_hash

    path = tmp_path / "big.bin"
    data = os.urandom(3_000_000)
    path.write_bytes(data)
    assert file_digest(path) == (content_hash(data), len(data))


def test_rebuild_streams_into_a_new_collection_committed_once(tmp_path: Path):
    docs = corpus(tmp_path / "docs", 5)
    kit = ragkit.open(tmp_path / "s", batched_config(files=2))
    kit.index([docs])
    old = kit.store.collection_name
    kit.close()
    config = batched_config(files=2)
    config.chunking.max_tokens = 8
    config.chunking.overlap_tokens = 2
    reference = ragkit.open(tmp_path / "ref", config)
    reference.index([docs])
    kit = ragkit.open(tmp_path / "s", config)
    gen = kit.store.generation
    phases: list[str] = []
    report = kit.index([docs], rebuild=True, on_phase=phases.append)
    assert report.unchanged == 5
    assert kit.store.generation == gen + 1  # the whole rebuild is one commit
    assert phases.count("vectors") == 3 and phases.count("manifest") == 1  # three batches streamed
    assert kit.store.collection_name != old and old not in kit.store.vectors.collection_names()
    assert sorted(kit.store.all_chunk_ids()) == sorted(reference.store.all_chunk_ids())
    assert kit.store.get_meta("chunker")["max_tokens"] == 8
    assert_consistent(kit)
    assert kit.check().ok
    kit.close()
    reference.close()


def test_a_rebuild_killed_midway_keeps_the_old_index(tmp_path: Path):
    docs = corpus(tmp_path / "docs", 5)
    store = tmp_path / "s"
    kit = ragkit.open(store, batched_config(files=2))
    kit.index([docs])
    before = sorted(kit.store.all_chunk_ids())
    collection = kit.store.collection_name
    kit.close()
    killed = _harness(store, docs, "--rebuild", "--kill-at", "vectors:2")
    assert killed.returncode == -9, killed.stderr
    kit = ragkit.open(store)
    assert sorted(kit.store.all_chunk_ids()) == before and kit.store.collection_name == collection
    assert set(kit.store.lexical().ids) == set(before) and set(before) <= kit.store.vectors.ids()
    kit.close()
    assert _harness(store, docs, "--rebuild").returncode == 0
    assert_checked(store, documents=5)
    reader = Store(store)
    assert reader.collection_name != collection
    reader.close()


def test_the_executor_factory_and_the_local_executor(tmp_path: Path):
    kit = ragkit.open(tmp_path / "s", hash_config())
    executor = make_executor("local", kit.embedder, kit.config.embedder)
    assert isinstance(executor, LocalExecutor) and isinstance(executor, Executor)
    with pytest.raises(ValueError, match="valid: local, ray"):
        make_executor("spark", kit.embedder, kit.config.embedder)
    texts = ["alpha beta", "gamma delta epsilon"]
    vectors = executor.embed(texts)
    assert len(vectors) == 2 and vectors[0].dtype == np.float32
    assert np.allclose(np.stack(vectors), kit.embedder.embed(texts))
    good = write_files(tmp_path / "docs", {"ok.txt": "Readable text here."})
    (good / "bad.txt").write_bytes(b"\x00\x01\x02binary\xff\xfe" * 50)
    tasks = [FileTask(str(good), str(good / n), str(good / n), file_digest(good / n)[0]) for n in ("bad.txt", "ok.txt")]
    out = list(executor.parse_chunk(tasks, kit.connector_options(), kit.chunker()))
    assert [p.task for p in out] == tasks  # in the order of the tasks
    assert out[0].document is None and "bad.txt" in out[0].error
    ok = out[1]
    assert ok.error is None and ok.document.content_hash == tasks[1].digest
    assert ok.embed_texts == [kit.chunker().embed_text(c) for c in ok.chunks] and ok.chunks
    executor.close()
    kit.close()
