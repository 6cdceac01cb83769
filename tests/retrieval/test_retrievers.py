"""Retrievers on a real store (hash embedder: instant, deterministic): modes, filters on every
retriever, batch = single, a cached service per kit."""
from __future__ import annotations

from ragkit.access import Scope

from pathlib import Path

import numpy as np

import pytest

import ragkit
from ragkit.config import Config
from ragkit.eval.beir import to_document
from ragkit.router import MODES
from ragkit.retrieval import dense as dense_module

TOPICS = {
    "fruit": "apples and pears grow in the orchard; ripe fruit falls in autumn",
    "space": "rockets carry satellites into orbit around the earth and the moon",
    "music": "the orchestra played a symphony with violins and a grand piano",
    "code": "python functions return values and raise exceptions on errors",
}


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory):
    config = Config()
    config.embedder.name = "hash"
    kit = ragkit.open(tmp_path_factory.mktemp("store") / "s", config)
    docs = []
    for folder in ("a", "b"):
        for topic, text in TOPICS.items():
            doc = to_document(f"{folder}/{topic}.txt", topic, f"{text}. Filed under {folder}.", {"team": folder})
            doc.source = f"{folder}/{topic}.txt"
            doc.format = "markdown" if topic == "code" else "text"
            docs.append(doc)
    kit.add_documents(docs)
    yield kit
    kit.close()


@pytest.mark.parametrize("mode", MODES)
def test_modes_find_the_topic(kit, mode: str) -> None:
    hits = kit.search("rockets orbit the moon", k=3, mode=mode)
    assert hits and hits[0].chunk.doc_id.endswith("space.txt")
    assert all(h.chunk.text for h in hits)
    assert hits == sorted(hits, key=lambda h: -h.score)
    if mode == "hybrid":
        assert set(hits[0].scores) == {"lexical", "dense"}


WHERES = [
    ({"source_prefix": "b/"}, lambda c: c.source.startswith("b/")),
    ({"team": "a"}, lambda c: c.metadata.get("team") == "a"),
    ({"format": "markdown"}, lambda c: c.source.endswith("code.txt")),
    ({"team": "b", "format": "text"}, lambda c: c.source.startswith("b/") and not c.source.endswith("code.txt")),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("where,ok", WHERES)
def test_filters_apply_to_every_retriever(kit, mode: str, where, ok) -> None:
    hits = kit.search("rockets orbit the moon python orchestra apples", k=10, mode=mode, where=where)
    assert hits, (mode, where)
    assert all(ok(h.chunk) for h in hits), [h.chunk.source for h in hits]
    assert {h.chunk.chunk_id for h in hits} <= kit.store.filter_ids(Scope.of(where))


@pytest.mark.parametrize("mode", MODES)
def test_filter_with_no_match(kit, mode: str) -> None:
    assert kit.search("apples", mode=mode, where={"team": "nobody"}) == []


def test_dense_filter_paths_agree(kit, monkeypatch: pytest.MonkeyPatch) -> None:
    """Exact search over the allowed vectors and HNSW over-fetch + post-filter rank the same."""
    retriever = kit.retrieval.retriever("dense")
    where = Scope.of({"source_prefix": "a/"})  # half of the store
    monkeypatch.setattr(dense_module, "EXACT_BELOW", 0.0)  # over-fetch
    overfetch = retriever.candidates(["violins and piano"], 4, where)[0]
    monkeypatch.setattr(dense_module, "EXACT_BELOW", 1.1)  # exact
    retriever._subsets.clear()
    exact = retriever.candidates(["violins and piano"], 4, where)[0]
    assert [i for i, _ in exact] == [i for i, _ in overfetch]
    assert [s for _, s in exact] == pytest.approx([s for _, s in overfetch], abs=1e-4)


@pytest.mark.parametrize("mode", MODES)
def test_batch_equals_single(kit, mode: str) -> None:
    queries = ["apples in autumn", "python exceptions", "symphony violins"]
    batch = kit.search_batch(queries, k=4, mode=mode)
    for query, hits in zip(queries, batch):
        single = kit.search(query, k=4, mode=mode)
        assert [h.chunk.chunk_id for h in hits] == [h.chunk.chunk_id for h in single]


def test_service_is_cached_and_follows_config(kit) -> None:
    svc = kit.retrieval
    assert kit.retrieval is svc
    assert svc.retriever("dense") is svc.retriever("dense")
    saved = kit.config.retrieval.fusion
    try:
        kit.config.retrieval.fusion = "rrf"
        hits = kit.search("apples", k=2)
        assert hits[0].score < 0.05  # an RRF score
    finally:
        kit.config.retrieval.fusion = saved
    with pytest.raises(ValueError, match="unknown mode"):
        kit.search("apples", mode="telepathy")  # "graph" exists since issue 10


def test_empty_store(tmp_path: Path) -> None:
    config = Config()
    config.embedder.name = "hash"
    empty = ragkit.open(tmp_path / "empty", config)
    for mode in MODES:
        assert empty.search("anything", mode=mode) == []
    empty.close()


def test_hybrid_embeds_the_query_while_the_lexical_search_runs(kit) -> None:
    """The query embedding runs on a worker thread at the same time as the lexical search; the fused
    lists equal those of running the two one after the other."""
    import threading
    import time

    hybrid = kit.retrieval.retriever("hybrid")
    events: list[tuple[str, str, float]] = []
    embedder = hybrid.dense.encode.embedder
    lexical_candidates = hybrid.lexical.candidates
    original_embed_query = embedder.embed_query

    def slow_embed(text: str):
        events.append(("embed-start", threading.current_thread().name, time.perf_counter()))
        time.sleep(0.2)
        events.append(("embed-end", threading.current_thread().name, time.perf_counter()))
        return original_embed_query(text)

    def timed_lexical(queries, depth, scope=None):
        events.append(("lexical-start", threading.current_thread().name, time.perf_counter()))
        return lexical_candidates(queries, depth, scope)

    query = "satellites and violins in orbit"
    expected_lex = lexical_candidates([query], 20)
    embedder.embed_query, hybrid.lexical.candidates = slow_embed, timed_lexical
    try:
        hybrid.dense.encode.forget(query)
        got = hybrid.candidate_lists([query], depth=20)
    finally:
        del embedder.embed_query, hybrid.lexical.candidates
    kinds = {kind: (thread, t) for kind, thread, t in events}
    assert kinds["embed-start"][0].startswith("ragkit-embed") and kinds["lexical-start"][0] == threading.current_thread().name
    assert kinds["lexical-start"][1] < kinds["embed-end"][1]  # overlapped, not one after the other
    expected_dense = hybrid.dense.candidates([query], 20)
    assert got == [(expected_lex[0], expected_dense[0])]
    kit.retrieval.close()
    assert hybrid.candidate_lists([query], depth=20) == got  # threads start again after close


def test_query_encoder_from_many_threads(kit) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from ragkit.retrieval.dense import QueryEncoder

    encode = QueryEncoder(kit.embedder, size=8)
    queries = [f"query number {i} about orbit" for i in range(40)]
    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(lambda q: encode([q, q])[0], queries * 3))
    for q, v in zip(queries * 3, got):
        assert np.allclose(v, kit.embedder.embed([q])[0])
    assert len(encode._cache) == 8
