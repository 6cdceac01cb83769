"""The query router: plans of crafted queries, the per-query lexical/dense balance, filters applied to
graph paths exactly as to text ones, and hits that explain how they were reached."""
from __future__ import annotations

from pathlib import Path

from ragkit.router import balance, plan
from tests.conftest import write_files
from tests.graphs.conftest import graph_config, graph_kit  # noqa: F401 - fixture


class FakeGraph:
    def __init__(self, names):
        self.names = names

    def link(self, text):
        return [(n.lower(), n, "exact") for n in self.names if n in text]


def test_plans_of_crafted_queries():
    g = FakeGraph(["Dune", "Frank Herbert", "Alice Smith", "Bob Jones", "Install", "Linux", "API"])
    bridge = plan("Which university did the author of Dune attend?", g)
    assert bridge.multihop and bridge.entities and bridge.graph_weight > 0 and not bridge.structural
    comparison = plan("Who is older, Alice Smith or Bob Jones?", g)
    assert comparison.multihop and comparison.comparison and len(comparison.entities) == 2
    section = plan("what does the Install > Linux section say", g)
    assert "section" in section.structural and section.structure_weight > 0
    table = plan("the row for Beta in table 2 of the guide", g)
    assert "table" in table.structural
    links = plan("which documents link to the API page", g)
    assert "link" in links.structural
    claim = plan("0-dimensional biomaterials show inductive properties.", g)
    assert not claim.multihop and not claim.structural and not claim.entities
    assert claim.graph_weight < bridge.graph_weight
    keyword = plan("rate limit", g)
    assert not keyword.multihop and not keyword.structural
    assert plan("rate limit", None).graph_weight == 0  # no graph in the store: text only


def test_balance_keeps_the_hybrid_weight_unless_a_side_is_weak():
    lexical = [(f"l{i}", 10.0 - 0.1 * i) for i in range(50)]
    close = [(f"d{i}", 0.8 - 0.005 * i) for i in range(50)]  # the embedder finds a close match
    far = [(f"d{i}", 0.30 - 0.001 * i) for i in range(50)]  # nothing close: misspelt or out-of-domain words
    assert balance(lexical, close, 0.5) == 0.5  # every term known, a close dense match: the hybrid's weight
    assert balance(lexical, close, 0.5, coverage=0.5) == 0.75  # half the terms unknown to BM25: toward dense
    assert balance(lexical, close, 0.5, coverage=0.0) == 0.95
    weak_dense = balance(lexical, far, 0.5)
    assert weak_dense < 0.2  # 0.5 * (1 - 2 * (0.55 - 0.30) / 0.55) = 0.045, clipped to 0.05
    assert abs(balance(lexical, [(f"d{i}", 0.50) for i in range(5)], 0.5) - 0.5 * (1 - 2 * 0.05 / 0.55)) < 1e-9
    assert balance(lexical, far, 0.5, dense_floor=0.0) == 0.5  # the dense signal off


def test_claims_are_routed_text_only_like_hybrid(graph_kit, tmp_path: Path):
    graph_kit.index(write_files(tmp_path / "docs", CORPUS))
    svc = graph_kit.retrieval
    svc.retriever("auto").settings.dense_floor = 0.0  # the hashing embedder's cosines are not MiniLM's
    for query in ("Marie Curie was born in Warsaw.", "Vistula river", "Niels Bohr worked with Ernest Rutherford"):
        auto = svc.search(query, k=5, mode="auto")
        hybrid = svc.search(query, k=5, mode="hybrid")
        plan_ = svc.retriever("auto").last_plans[0]
        assert "text only" in plan_.reasons and plan_.graph_weight == 0, plan_.reasons
        assert [h.chunk.chunk_id for h in auto] == [h.chunk.chunk_id for h in hybrid]
        assert [h.score for h in auto] == [h.score for h in hybrid]


CORPUS = {
    "curie.txt": "Marie Curie was born in Warsaw. Marie Curie worked at the Sorbonne.",
    "warsaw.txt": "Warsaw is the capital of Poland. Warsaw lies on the Vistula river.",
    "bohr.txt": "Niels Bohr was born in Copenhagen and worked with Ernest Rutherford.",
}


def test_balance_follows_the_terms_the_served_lexical_index_lacks(hash_kit, tmp_path: Path):
    """The lexical share shrinks with the query's BM25 terms unknown to the index a real store serves."""
    from ragkit.retrieval.hybrid import fuse_pair
    from ragkit.router.auto import _with_weight

    hash_kit.index(write_files(tmp_path / "docs", CORPUS))
    svc = hash_kit.retrieval
    auto = svc.retriever("auto")
    auto.settings.dense_floor = 0.0  # the hashing embedder's cosines are not MiniLM's: the coverage signal alone
    base = hash_kit.config.retrieval.weight
    assert base < 0.95
    for query, coverage in (("Vistula river in Warsaw", 1.0), ("the Vistula zzqx", 0.5), ("zzqx qqvw", 0.0)):
        hits = svc.search(query, k=5, mode="auto")
        weight = auto.last_plans[0].dense_weight
        assert weight == (base if coverage == 1.0 else min(0.95, 1.0 - (1.0 - base) * coverage)), query
        lex, den = svc.retriever("hybrid").candidate_lists([query], None, hash_kit.config.retrieval.depth)[0]
        want = fuse_pair(lex, den, _with_weight(hash_kit.config.retrieval, weight))[:5]
        assert [h.chunk.chunk_id for h in hits] == [f.id for f in want], query
    assert auto.last_plans[0].dense_weight > base  # the unknown words hand the query over to dense


def test_auto_paths_and_multihop_second_hop(graph_kit, tmp_path: Path):
    graph_kit.index(write_files(tmp_path / "docs", CORPUS))
    hits = graph_kit.search("Which river flows through the city where Marie Curie was born?", k=3, mode="auto")
    sources = [Path(h.chunk.source).name for h in hits]
    assert sources[:2] == ["curie.txt", "warsaw.txt"] or sources[:2] == ["warsaw.txt", "curie.txt"]
    paths = {Path(h.chunk.source).name: h.paths for h in hits}
    assert "graph:PPR from 'Marie Curie'" in paths["curie.txt"]
    assert any(p.startswith("graph:hop from") and "Warsaw" in p for p in paths["warsaw.txt"])
    assert all(h.to_dict()["paths"] == h.paths for h in hits)
    graph_only = graph_kit.search("Marie Curie", k=3, mode="graph")
    assert Path(graph_only[0].chunk.source).name == "curie.txt"
    assert graph_only[0].paths == ["graph:PPR from 'Marie Curie'"]
    assert graph_kit.search("Warsaw capital", k=3, mode="lexical")[0].paths == []  # text modes: no paths


def test_filters_apply_to_graph_paths(tmp_path: Path):
    import ragkit

    kit = ragkit.open(tmp_path / "s", graph_config())
    kit.index(write_files(tmp_path / "red", {"curie.txt": CORPUS["curie.txt"]}), meta={"team": "red"})
    kit.index(write_files(tmp_path / "blue", {"warsaw.txt": CORPUS["warsaw.txt"], "w2.txt": "Marie Curie left Warsaw."}),
              meta={"team": "blue"})
    for mode in ("graph", "auto"):
        hits = kit.search("Marie Curie Warsaw", k=10, mode=mode, where={"team": "red"})
        assert hits and {h.chunk.metadata["team"] for h in hits} == {"red"}, mode
        hits = kit.search("Marie Curie Warsaw", k=10, mode=mode, where={"team": "blue"})
        assert hits and {h.chunk.metadata["team"] for h in hits} == {"blue"}, mode
    kit.close()
