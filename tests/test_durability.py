"""kill -9 during an ingest leaves the last committed state readable; the next ingest completes it.

Each round changes the corpus, starts `ragkit index` in a subprocess and SIGKILLs it, either at a
named phase (parse, embed, vector write, manifest commit, vector delete, lexical write: fault
injection through RAGKIT_CRASH_AT) or after a random delay. Then the store is checked from a reader,
indexed again without a kill, and checked exactly against the files on disk.
"""
from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ragkit
from ragkit.store import Store
from tests.conftest import REPO
from tests.graphs.conftest import graph_config  # hash embedder, fast entity recognizer
from tests.graphs.consistency import assert_graph_exact, check_consistency

PHASES = ["parse", "embed", "vectors", "manifest", "delete", "lexical"]
MIN_KILLS = 24
MAX_ROUNDS = 60
pytestmark = pytest.mark.slow


def _index_cmd(store: Path, docs: Path) -> list[str]:
    return [sys.executable, "-m", "ragkit.cli.main", "index", str(docs), "--store", str(store), "--json", "--quiet"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAGKIT_CRASH", "_RAGKIT"))}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def _mutate(docs: Path, rng: random.Random, round_no: int) -> None:
    files = sorted(docs.glob("*.txt"))
    for _ in range(rng.randint(1, 4)):
        action = rng.random()
        if action < 0.4 or len(files) < 3:
            name = f"doc{round_no}_{rng.randint(0, 10**6)}.txt"
            paras = [f"Round {round_no} paragraph {i} about topic {rng.randint(0, 50)}." for i in range(rng.randint(1, 30))]
            (docs / name).write_text("\n\n".join(paras))
        elif action < 0.75:
            target = rng.choice(files)
            target.write_text(target.read_text() + f"\n\nEdited in round {round_no}.")
        else:
            target = rng.choice(files)
            target.unlink()
            files.remove(target)
        files = sorted(docs.glob("*.txt"))


def _committed_snapshot(store_path: Path) -> dict[str, str]:
    store = Store(store_path)
    try:
        return {d["doc_id"]: d["content_hash"] for d in store.documents()}
    finally:
        store.close()


def _check_readable(store_path: Path, before: dict[str, str], after: dict[str, str]) -> None:
    """After a kill: the committed state is the old one or the new one, and every committed chunk is
    searchable in both indexes (extra uncommitted vectors are invisible to readers)."""
    store = Store(store_path)
    try:
        state = {d["doc_id"]: d["content_hash"] for d in store.documents()}
        assert state in (before, after), "committed state is neither the previous nor the new one"
        manifest = set(store.all_chunk_ids())
        assert manifest <= store.vectors.ids()
        assert set(store.lexical().ids) == manifest
        assert check_consistency(store.db) == []  # the graph commits with the manifest
    finally:
        store.close()


def _check_exact(store_path: Path, docs: Path) -> None:
    store = Store(store_path)
    try:
        on_disk = {
            str(p.resolve()): hashlib.sha256(p.read_bytes()).hexdigest() for p in docs.glob("*.txt")
        }
        assert {d["doc_id"]: d["content_hash"] for d in store.documents()} == on_disk
        manifest = set(store.all_chunk_ids())
        assert store.vectors.ids() == manifest
        current = (store_path / "lexical" / "CURRENT").read_text().strip()
        assert current == f"gen-{store.generation}"
        from ragkit.stores.bm25 import Bm25Index

        assert set(Bm25Index.load(store_path / "lexical" / current).ids) == manifest
        assert store.db.execute("SELECT COUNT(*) FROM pending_deletes").fetchone()[0] == 0
        assert store.get_meta("dirty") is False
        counts = dict(store.db.execute("SELECT doc_id, COUNT(*) FROM chunks GROUP BY doc_id").fetchall())
        for d in store.documents():
            assert counts.get(d["doc_id"], 0) == d["chunks"]
        assert_graph_exact(store)
    finally:
        store.close()


def test_kill_nine_at_every_phase_and_random_offsets(tmp_path: Path):
    rng = random.Random(1234)
    docs = tmp_path / "docs"
    docs.mkdir()
    store_path = tmp_path / "store"
    ragkit.open(store_path, graph_config()).close()
    _mutate(docs, rng, 0)
    started = time.monotonic()
    subprocess.run(_index_cmd(store_path, docs), env=_env(), check=True, capture_output=True, timeout=120)
    full_run = time.monotonic() - started  # how long one index process lives here
    kills = 0
    phases_killed: set[str] = set()
    round_no = 0
    while (kills < MIN_KILLS or phases_killed != set(PHASES)) and round_no < MAX_ROUNDS:
        round_no += 1
        before = _committed_snapshot(store_path)
        _mutate(docs, rng, round_no)
        after = {str(p.resolve()): hashlib.sha256(p.read_bytes()).hexdigest() for p in docs.glob("*.txt")}
        if round_no % 4 == 0:
            # a kill at a random moment of the run
            proc = subprocess.Popen(_index_cmd(store_path, docs), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(rng.uniform(0.3, 1.0) * full_run)
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=60)
            killed = proc.returncode == -signal.SIGKILL
        else:
            phase = PHASES[round_no % len(PHASES)]
            proc = subprocess.run(
                _index_cmd(store_path, docs), env=_env(RAGKIT_CRASH_AT=phase), capture_output=True, timeout=120
            )
            killed = proc.returncode == -signal.SIGKILL
            if killed:
                phases_killed.add(phase)
        kills += killed
        _check_readable(store_path, before, after)
        subprocess.run(_index_cmd(store_path, docs), env=_env(), check=True, capture_output=True, timeout=120)
        _check_exact(store_path, docs)
    assert kills >= MIN_KILLS
    assert phases_killed == set(PHASES)
