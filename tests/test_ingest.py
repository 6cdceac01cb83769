"""Incremental, idempotent, scoped ingest with exact consistency across the three stores."""
from __future__ import annotations

from ragkit.access import Scope

import multiprocessing
import time
from pathlib import Path

import pytest

import ragkit
from ragkit.store import Store, StoreLockedError, StoreMismatchError
from tests.conftest import hash_config, write_files


def assert_consistent(kit) -> None:
    """Manifest, vector store and lexical index hold exactly the same chunk ids."""
    store = kit.store
    manifest = set(store.all_chunk_ids())
    assert store.vectors.ids() == manifest
    assert set(store.lexical().ids) == manifest
    assert store.db.execute("SELECT COUNT(*) FROM pending_deletes").fetchone()[0] == 0
    for doc in store.documents():
        text = store.document_text(doc["doc_id"])
        chunks = store.doc_chunks(doc["doc_id"])
        assert len(chunks) == doc["chunks"]
        for c in chunks:
            if c.kind == "text":
                assert text[c.span[0] : c.span[1]] == c.text


def test_index_is_idempotent(hash_kit, tmp_path: Path):
    docs = write_files(tmp_path / "docs", {"a.txt": "Alpha text.\n\nMore alpha.", "sub/b.md": "# B\n\nBeta body."})
    first = hash_kit.index([docs])
    assert (first.added, first.updated, first.deleted, first.unchanged) == (2, 0, 0, 0)
    assert first.chunks >= 2 and first.failed == []
    ids = set(hash_kit.store.all_chunk_ids())
    gen = hash_kit.store.generation
    again = hash_kit.index([docs])
    assert again.to_dict() == {
        "added": 0, "updated": 0, "deleted": 0, "unchanged": 2, "relabeled": 0, "chunks": 0, "failed": []
    }
    assert set(hash_kit.store.all_chunk_ids()) == ids
    assert hash_kit.store.generation == gen  # nothing committed
    assert_consistent(hash_kit)


def test_update_and_delete(hash_kit, tmp_path: Path):
    docs = write_files(tmp_path / "docs", {"a.txt": "Old alpha.", "b.txt": "Beta stays.", "c.txt": "Gamma goes."})
    hash_kit.index([docs])
    (docs / "a.txt").write_text("New alpha text.")
    (docs / "c.txt").unlink()
    report = hash_kit.index([docs])
    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 1, 1, 1)
    sources = {Path(d["source"]).name for d in hash_kit.documents()}
    assert sources == {"a.txt", "b.txt"}
    texts = [t for _, t in hash_kit.store.iter_chunk_texts()]
    assert "New alpha text." in texts and "Old alpha." not in texts and "Gamma goes." not in texts
    assert_consistent(hash_kit)


def test_same_content_two_documents_one_deleted(hash_kit, tmp_path: Path):
    docs = write_files(tmp_path / "docs", {"one.txt": "Identical content.", "two.txt": "Identical content."})
    hash_kit.index([docs])
    ids = hash_kit.store.all_chunk_ids()
    assert len(ids) == 2 and len(set(ids)) == 2  # same text, different documents, different ids
    (docs / "one.txt").unlink()
    report = hash_kit.index([docs])
    assert report.deleted == 1
    remaining = hash_kit.documents()
    assert [Path(d["source"]).name for d in remaining] == ["two.txt"]
    assert hash_kit.store.count_chunks() == 1
    assert_consistent(hash_kit)


def test_deletion_is_scoped_to_given_roots(hash_kit, tmp_path: Path):
    a = write_files(tmp_path / "a", {"x.txt": "From root A."})
    b = write_files(tmp_path / "b", {"y.txt": "From root B."})
    hash_kit.index([a])
    hash_kit.index([b])  # indexing B must not delete A's documents
    assert {Path(d["source"]).name for d in hash_kit.documents()} == {"x.txt", "y.txt"}
    (a / "x.txt").unlink()
    assert hash_kit.index([b]).deleted == 0
    assert hash_kit.index([a]).deleted == 1
    assert {Path(d["source"]).name for d in hash_kit.documents()} == {"y.txt"}


def test_bad_files_reported_and_retried(hash_kit, tmp_path: Path):
    docs = write_files(
        tmp_path / "docs",
        {"good.txt": "Fine text.", "empty.txt": "", "binary.txt": b"\x00\x01\x02\xff" * 50, "broken.pdf": b"%PDF-1.4 garbage"},
    )
    report = hash_kit.index([docs])
    failed = {Path(f["path"]).name: f["error"] for f in report.failed}
    assert set(failed) == {"empty.txt", "binary.txt", "broken.pdf"}
    for name, error in failed.items():
        assert name in error  # the message names the file
    assert report.added == 1
    # failures are remembered and retried: fixing the file indexes it
    (docs / "empty.txt").write_text("Now it has text.")
    again = hash_kit.index([docs])
    assert again.added == 1
    assert {Path(f["path"]).name for f in hash_kit.store.failures()} == {"binary.txt", "broken.pdf"}
    assert_consistent(hash_kit)


def test_metadata_attached_and_filtered(hash_kit, tmp_path: Path):
    a = write_files(tmp_path / "a", {"x.txt": "shared words here"})
    b = write_files(tmp_path / "b", {"y.txt": "shared words here too"})
    hash_kit.index([a], meta={"team": "red"})
    hash_kit.index([b], meta={"team": "blue"})
    red = hash_kit.store.filter_ids(Scope.of({"team": "red"}))
    assert {c.source for c in hash_kit.chunks(sorted(red))} == {str((a / "x.txt").resolve())}
    prefix = hash_kit.store.filter_ids(Scope.of({"source_prefix": str(b.resolve())}))
    assert {Path(c.source).name for c in hash_kit.chunks(sorted(prefix))} == {"y.txt"}
    # changing the metadata of unchanged files re-indexes them
    assert hash_kit.index([a], meta={"team": "green"}).updated == 1


def test_metadata_is_kept_when_the_file_changes(hash_kit, tmp_path: Path):
    """``--meta``, like labels, is kept until the user changes it: an edited file re-indexed without
    ``meta`` keeps its metadata (and ``where team=red`` still finds it); new keys add to or change the old."""
    docs = write_files(tmp_path / "docs", {"x.txt": "first version of the notes"})
    hash_kit.index([docs], meta={"team": "red", "owner": "ana"})
    (docs / "x.txt").write_text("second version of the notes, edited", encoding="utf-8")
    report = hash_kit.index([docs])
    assert report.updated == 1
    [doc] = hash_kit.documents()
    assert doc["metadata"]["team"] == "red" and doc["metadata"]["owner"] == "ana"
    hits = hash_kit.search("second version", k=3, mode="lexical", where={"team": "red"})
    assert hits and all(h.chunk.metadata["team"] == "red" for h in hits)
    assert "edited" in hits[0].chunk.text
    (docs / "x.txt").write_text("third version", encoding="utf-8")
    hash_kit.index([docs], meta={"team": "blue"})  # changes one key, keeps the other
    [doc] = hash_kit.documents()
    assert (doc["metadata"]["team"], doc["metadata"]["owner"]) == ("blue", "ana")
    assert not hash_kit.store.filter_ids(Scope.of({"team": "red"}))
    hash_kit.index([docs], rebuild=True)  # a rebuild re-chunks the stored documents: the metadata stays
    (docs / "x.txt").write_text("fourth version", encoding="utf-8")
    hash_kit.index([docs])
    [doc] = hash_kit.documents()
    assert (doc["metadata"]["team"], doc["metadata"]["owner"]) == ("blue", "ana")


def test_settings_change_refused_then_rebuilt(tmp_path: Path):
    docs = write_files(tmp_path / "docs", {"a.txt": "Some text to chunk."})
    kit = ragkit.open(tmp_path / "s", hash_config())
    kit.index([docs])
    config = hash_config()
    config.chunking.max_tokens = 50
    kit2 = ragkit.open(tmp_path / "s", config)
    with pytest.raises(StoreMismatchError, match="--rebuild"):
        kit2.index([docs])
    report = kit2.index([docs], rebuild=True)
    assert report.unchanged == 1
    assert kit2.store.get_meta("chunker")["max_tokens"] == 50
    assert_consistent(kit2)


def _hold_lock(path: str, ready, release) -> None:
    store = Store(path, hash_config())
    with store.writer():
        ready.set()
        release.wait(20)


def test_single_writer_lock(tmp_path: Path):
    path = tmp_path / "s"
    ragkit.open(path, hash_config())
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold_lock, args=(str(path), ready, release))
    proc.start()
    try:
        assert ready.wait(30)
        kit = ragkit.open(path)
        with pytest.raises(StoreLockedError, match="another ragkit process"):
            kit.index([tmp_path])
        # readers are never blocked
        assert kit.store.count_chunks() == 0
        started = time.monotonic()
        release.set()
        docs = write_files(tmp_path / "docs", {"a.txt": "text"})
        assert kit.index([docs], wait=20).added == 1
        assert time.monotonic() - started < 20
    finally:
        release.set()
        proc.join(10)


def test_include_exclude_choose_what_is_read_and_never_delete(hash_kit, tmp_path: Path):
    """Re-indexing a folder with a narrower glob reads fewer files; it deletes none of the others.
    Only a file gone from disk is deleted."""
    docs = write_files(tmp_path / "docs", {"a.md": "# A\n\nAlpha.", "b.txt": "Beta.", "sub/c.md": "# C\n\nGamma."})
    assert hash_kit.index([docs]).added == 3
    narrow = hash_kit.index([docs], include=["*.md"])
    assert (narrow.deleted, narrow.unchanged) == (0, 2)
    skipped = hash_kit.index([docs], exclude=["sub/**", "*.txt"])
    assert (skipped.deleted, skipped.unchanged) == (0, 1)
    assert {Path(d["source"]).name for d in hash_kit.documents()} == {"a.md", "b.txt", "c.md"}
    (docs / "b.txt").unlink()
    gone = hash_kit.index([docs], include=["*.md"])
    assert gone.deleted == 1
    assert {Path(d["source"]).name for d in hash_kit.documents()} == {"a.md", "c.md"}
    assert_consistent(hash_kit)


def test_store_ids_name_their_collections(tmp_path: Path):
    """Two stores never share a vector collection name; a store deletes only collections it made."""
    one = ragkit.open(tmp_path / "one", hash_config())
    two = ragkit.open(tmp_path / "two", hash_config())
    assert one.store.collection_name != two.store.collection_name
    assert one.store.collection_name.startswith(f"ragkit-{one.store.store_id[:16]}-")
    assert one.store.owns_collection(one.store.new_collection_name())
    assert not one.store.owns_collection(two.store.collection_name)
    assert not one.store.owns_collection("someone-elses")
