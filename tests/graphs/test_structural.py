"""A subset of the structural query set (bench/graph_structural.py): auto finds the section, table
row or linking document in the top 3, through the graph path that explains it."""
from __future__ import annotations

from pathlib import Path

from bench.graph_structural import QUERIES, is_target, write_corpus
from tests.graphs.conftest import graph_config

SUBSET = [0, 4, 7, 10, 13, 17, 19, 21]


def test_structural_queries_auto_top3(tmp_path: Path):
    import ragkit

    kit = ragkit.open(tmp_path / "store", graph_config())
    kit.index(write_corpus(tmp_path / "docs"))
    for i in SUBSET:
        query, target = QUERIES[i]
        hits = kit.search(query, k=3, mode="auto")
        assert any(is_target(h, target) for h in hits), query
        winner = next(h for h in hits if is_target(h, target))
        assert any(p.startswith("graph:") for p in winner.paths), (query, winner.paths)
    kit.close()
