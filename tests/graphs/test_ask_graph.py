"""``ask`` passes the graph's evidence as chunks: a multi-hop question gets both hops in its context."""
from __future__ import annotations

from pathlib import Path

from tests.conftest import write_files
from tests.test_router import CORPUS


def test_ask_gets_both_hops(graph_kit, tmp_path: Path):
    graph_kit.index(write_files(tmp_path / "docs", {**CORPUS, "noise.txt": "Rivers flow through many cities."}))
    question = "Which river flows through the city where Marie Curie was born?"
    for mode in ("hybrid", "auto"):
        hits = graph_kit.search(question, k=1, mode=mode)
        evidence = graph_kit.runtime.evidence.graph_evidence(question, hits)
        names = {Path(h.chunk.source).name for h in evidence}
        assert {"curie.txt", "warsaw.txt"} <= names, (mode, names)
        assert all(h.chunk.text for h in evidence)  # chunks, never a summary
    graph_kit.config.retrieval.k = 2
    answer = graph_kit.ask(question)
    cited = {Path(c.source).name for c in answer.citations}
    assert {h for h in cited} <= {"curie.txt", "warsaw.txt", "noise.txt"}
    assert "warsaw.txt" in {Path(h.chunk.source).name for h in answer.hits}


def test_relation_evidence(graph_kit, tmp_path: Path):
    graph_kit.index(write_files(tmp_path / "docs", CORPUS))
    hits = graph_kit.search("Niels Bohr", k=1, mode="lexical")
    evidence = graph_kit.runtime.evidence.graph_evidence("How is Niels Bohr related to Ernest Rutherford?", hits[:0])
    paths = [p for h in evidence for p in h.paths]
    assert any(p.startswith("graph:relation 'Niels Bohr'") and p.endswith("'Ernest Rutherford'") for p in paths), paths
    assert "bohr.txt" in {Path(h.chunk.source).name for h in evidence}


def test_a_chat_turn_retrieves_as_ask_does(graph_kit, tmp_path: Path):
    """A follow-up that stands alone gets the same passages as the same question asked first: the
    graph's evidence (both hops) and the consistent read, not the search hits alone."""
    graph_kit.index(write_files(tmp_path / "docs", {**CORPUS, "noise.txt": "Rivers flow through many cities."}))
    graph_kit.config.retrieval.k = 1
    question = "Which river flows through the city where Marie Curie was born?"
    asked = graph_kit.ask(question)
    history = [{"role": "user", "content": "Who discovered polonium and radium?"},
               {"role": "assistant", "content": "Marie Curie [1]."}]
    chatted = graph_kit.chat(history, question)
    assert [h.chunk.chunk_id for h in chatted.hits] == [h.chunk.chunk_id for h in asked.hits]
    assert "warsaw.txt" in {Path(h.chunk.source).name for h in chatted.hits}
    assert {h.generation for h in chatted.hits} == {graph_kit.store.generation}
