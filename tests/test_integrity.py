"""`ragkit check [--repair]`: every kind of damage to the derived stores is reported, and a repaired
store holds exactly the vectors of an undamaged copy of it (bit for bit) and answers searches exactly
like it.

What "exactly" rests on: the vectors are restored bit for bit from the embedding cache, lexical search is
deterministic, and a dense search whose k covers the whole collection (k=1000 here, 48 chunks) is
exact (``ChromaVectorStore.query_batch``). chroma's HNSW alone is not: an embedded chroma below 1000
vectors rebuilds its graph from its write log in every process that opens it (in parallel, in hash-map
order), a repaired store's log holds the damage and the repair too, and such a graph can leave a vector
unreachable; under load (2 busy processes on 2 cores) 3 of 250 opens of a repaired store did, and the
hybrid scores of every hit moved (z-score over one candidate fewer: -1.1855 vs -1.1747; issue 20).
A top k below the collection's size stays HNSW's answer and may differ between any two opens, of a
repaired store or of an undamaged one; what repair guarantees there is the same vectors, hence the same
exact top k.

Damage is done from outside ragkit (the file system, chroma's own API, a killed process), and check and
repair run as the CLI in fresh processes, as a user would run them.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ragkit
from tests.conftest import REPO, hash_config

QUERIES = ["harbour pilots tide", "glacier survey ice", "orchard frost apples", "library archive maps"]
TOPICS = {
    "harbour": "Harbour pilots guide ships through the tide channel at dawn.",
    "glacier": "The glacier survey measured ice loss along the northern valley.",
    "orchard": "Orchard keepers fight frost so the apples survive the spring.",
    "library": "The library archive keeps old maps of the coast in cold rooms.",
}


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO))


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ragkit.cli.main", *args], env=_env(), capture_output=True, text=True, timeout=300
    )


def run_check(store: Path, repair: bool = False) -> tuple[int, dict]:
    proc = cli("check", "--store", str(store), "--json", *(["--repair"] if repair else []))
    return proc.returncode, json.loads(proc.stdout)


def searches(store: Path) -> dict[str, list[tuple[float, frozenset[str]]]]:
    """Every query's whole ranking in every mode, as (score, ids with that score) from best to worst:
    ties may come back in any order, so ids are compared as a set within a score."""
    kit = ragkit.open(store)
    try:
        out = {}
        for q in QUERIES:
            for mode in ("lexical", "dense", "hybrid"):
                groups: dict[float, set[str]] = {}
                for hit in kit.search(q, k=1000, mode=mode):
                    groups.setdefault(round(hit.score, 4), set()).add(hit.chunk.chunk_id)
                out[f"{mode}:{q}"] = [(score, frozenset(ids)) for score, ids in groups.items()]
        return out
    finally:
        kit.close()


def stored_vectors(store: Path) -> dict[str, bytes]:
    """Every stored vector as chroma returns it (float32 bytes), by chunk id."""
    from ragkit.store import Store

    reader = Store(store)
    try:
        return {cid: row.tobytes() for ids, matrix in reader.vectors.iter_vectors() for cid, row in zip(ids, matrix)}
    finally:
        reader.close()


def state(store: Path) -> dict:
    """What a repair must restore exactly: every search of :func:`searches` and every vector."""
    return {**searches(store), "vectors": stored_vectors(store)}


def make_docs(root: Path, n: int = 24) -> Path:
    docs = root / "docs"
    docs.mkdir()
    for i in range(n):
        topic = list(TOPICS)[i % len(TOPICS)]
        paras = [f"{TOPICS[topic]} Note {i}.{j} adds detail number {i * 7 + j}." for j in range(6)]
        (docs / f"{topic}-{i}.md").write_text(f"# {topic.title()} {i}\n\n## Details\n\n" + "\n\n".join(paras))
    return docs


@pytest.fixture(scope="module")
def healthy(tmp_path_factory) -> tuple[Path, Path]:
    """(a healthy store indexed from generated docs, the docs folder)."""
    root = tmp_path_factory.mktemp("integrity")
    docs = make_docs(root)
    store = root / "store"
    ragkit.open(store, hash_config()).close()
    proc = cli("index", str(docs), "--store", str(store), "--json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["added"] == 24
    return store, docs


@pytest.fixture
def damaged(healthy, tmp_path: Path) -> tuple[Path, Path, dict]:
    """(a copy of the healthy store to damage, the docs, the pristine copy's searches and vectors)."""
    store, docs = healthy
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    return copy, docs, state(store)


def _kinds(report: dict) -> set[str]:
    return {p["kind"] for p in report["problems"]}


def test_healthy_store_checks_clean(healthy):
    store, _ = healthy
    code, report = run_check(store)
    assert code == 0 and report["ok"] is True and report["problems"] == []
    assert report["checked"]["chunks"] == report["checked"]["vectors"] == report["checked"]["vectors_compared"] > 24


def _assert_repaired(store: Path, expected: dict, kinds: set[str]) -> dict:
    code, report = run_check(store)
    assert code == 1 and not report["ok"]
    assert kinds <= _kinds(report), report["problems"]
    code, fixed = run_check(store, repair=True)
    assert code == 0 and fixed["repaired"] and fixed["remaining"] == [], fixed
    code, after = run_check(store)
    assert code == 0 and after["ok"], after["problems"]
    assert state(store) == expected
    return fixed


def test_vectors_folder_deleted(damaged):
    store, _, expected = damaged
    shutil.rmtree(store / "vectors")
    fixed = _assert_repaired(store, expected, {"missing_vectors"})
    missing = next(p for p in fixed["problems"] if p["kind"] == "missing_vectors")
    assert missing["count"] == fixed["checked"]["chunks"]
    assert any("from the embedding cache, 0 re-embedded" in r for r in fixed["repaired"])


def damage(store: Path, action: str, amount: str) -> None:
    """Damage the store's vectors through chroma's own API, from another process."""
    subprocess.run([sys.executable, "-m", "tests.harness.damage", str(store), action, amount],
                   env=_env(), check=True, capture_output=True, cwd=REPO)


@pytest.mark.parametrize(
    ("action", "amount", "kind"),
    [("delete", "0.1", "missing_vectors"), ("add", "5", "extra_vectors"), ("perturb", "4", "wrong_vectors")],
    ids=["10% deleted", "extra added", "changed"],
)
def test_vectors_damaged_through_chroma(damaged, action: str, amount: str, kind: str):
    store, _, expected = damaged
    damage(store, action, amount)
    fixed = _assert_repaired(store, expected, {kind})
    count = next(p for p in fixed["problems"] if p["kind"] == kind)["count"]
    assert count == (int(fixed["checked"]["chunks"] * 0.1) if action == "delete" else int(amount))


def test_lost_vectors_repaired_by_index_itself(damaged):
    """`index` runs the cheap check first: vectors lost since the last commit come back."""
    store, docs, expected = damaged
    damage(store, "delete", "0.1")
    proc = cli("index", str(docs), "--store", str(store), "--json", "--quiet")
    assert proc.returncode == 0 and json.loads(proc.stdout)["unchanged"] == 24
    code, report = run_check(store)
    assert code == 0 and report["ok"], report["problems"]
    assert state(store) == expected


def test_lexical_folder_deleted(damaged):
    store, _, expected = damaged
    shutil.rmtree(store / "lexical")
    _assert_repaired(store, expected, {"lexical_stale"})


def test_lexical_index_truncated(damaged):
    store, _, expected = damaged
    state = json.loads((store / "lexical" / "CURRENT").read_text())
    files = sorted(p for s in state["segments"] for p in (store / "lexical" / s["name"]).iterdir()
                   if p.is_file() and p.stat().st_size > 16)
    for path in files:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    _assert_repaired(store, expected, {"lexical_unreadable"})


def test_stale_current_pointer(damaged):
    store, _, expected = damaged
    (store / "lexical" / "CURRENT").write_text("gen-0")
    _assert_repaired(store, expected, {"lexical_stale"})


def test_lexical_scores_that_differ(damaged):
    """A saved index of the right ids but other texts (e.g. written by a buggy build) is caught by the
    sampled score comparison."""
    from ragkit.store import Store, generations

    store, _, expected = damaged
    reader = Store(store)
    ids = reader.all_chunk_ids()
    gen = reader.generation
    reader.close()
    generations.publish_full(store / "lexical", gen, ids, ["harbour glacier orchard library"] * len(ids))
    _assert_repaired(store, expected, {"lexical_scores"})


def test_crash_during_rebuild(damaged):
    """A rebuild killed after writing its new collection leaves that collection behind: check reports
    it, repair drops it, and the committed collection is untouched."""
    store, docs, expected = damaged
    proc = subprocess.run(
        [sys.executable, "-m", "tests.harness.index", str(store), str(docs), "--rebuild", "--kill-at", "manifest"],
        env=_env(), capture_output=True, cwd=REPO, timeout=300,
    )
    assert proc.returncode == -9, proc.stderr
    _assert_repaired(store, expected, {"stale_collections"})


def test_check_of_a_missing_store_fails_clearly(tmp_path: Path):
    proc = cli("check", "--store", str(tmp_path / "nothing"), "--json")
    assert proc.returncode != 0 and "no ragkit store" in proc.stderr and proc.stdout == ""


def test_graph_rows_without_provenance(damaged):
    """A graph row whose chunk is not committed (written by a bug, say) is reported and rebuilt away."""
    import sqlite3

    store, _, expected = damaged
    with sqlite3.connect(store / "manifest.sqlite") as db:
        doc_id, entity = db.execute("SELECT doc_id, entity_id FROM graph_mentions LIMIT 1").fetchone()
        db.execute("INSERT INTO graph_mentions VALUES ('no-such-chunk', ?, ?, 'x', 'X', 1.0)", (entity, doc_id))
    fixed = _assert_repaired(store, expected, {"graph_rows"})
    assert any("rebuilt the graph" in r for r in fixed["repaired"])


class _ShortHNSW:
    """A chroma collection whose HNSW answer misses its best vector, as chroma's does when its graph
    left a vector unreachable: an embedded chroma below ``sync_threshold`` (1000) vectors rebuilds
    its HNSW from the write log in every process that opens it, in parallel and in hash-map order,
    and on the loaded 2-core machine 3 of 250 opens of a repaired 48-vector store returned 47 or 46
    vectors for every query, k=1000 (a different vector each time, not one the repair touched)."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name: str):
        return getattr(self._real, name)

    def query(self, **kwargs):
        res = self._real.query(**kwargs)
        return {**res, "ids": [ids[1:] for ids in res["ids"]], "distances": [d[1:] for d in res["distances"]]}


def test_dense_search_that_hnsw_answers_short_is_exact(tmp_path: Path):
    """A query for k >= the collection's size gets every vector, and a query whose approximate answer
    is short of k (fewer than the collection holds) gets the exact one: cosine over every stored
    vector, best first (ties by id)."""
    import numpy as np

    from ragkit.indexes.chroma import ChromaVectorStore

    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(30, 16)).astype(np.float32)
    ids = [f"c{i:02d}" for i in range(30)]
    store = ChromaVectorStore(tmp_path / "vectors", collection="short-hnsw")
    store.upsert(ids, vectors)
    store._collection = _ShortHNSW(store.collection)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = unit[:3] + 0.1 * unit[3:6]
    for k in (1000, 30, 10):
        got = store.query_batch(queries, k)
        for q, ranked in zip(queries, got):
            scores = unit.astype(np.float64) @ (q / np.linalg.norm(q)).astype(np.float64)
            want = sorted(zip(ids, scores), key=lambda p: (-p[1], p[0]))[: min(k, 30)]
            assert [cid for cid, _ in ranked] == [cid for cid, _ in want], k
            assert np.allclose([s for _, s in ranked], [s for _, s in want], atol=1e-6), k
    store.close()
