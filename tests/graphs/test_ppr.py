"""Personalized PageRank against values and rankings computed by hand."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from graphs.traverse import personalized_pagerank
from tests.conftest import write_files


def test_ppr_on_a_path_matches_the_hand_solution():
    # A - B - C, seed A, damping 0.5. By hand: rC = rB/4, rB = rA/2 + rC/2 -> rB = 4/7 rA,
    # rA = 1/2 + rB/4 -> rA = 7/12, rB = 1/3, rC = 1/12.
    adjacency = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float)
    r = personalized_pagerank(adjacency, np.array([1.0, 0, 0]), damping=0.5, iterations=200)
    assert np.allclose(r, [7 / 12, 1 / 3, 1 / 12], atol=1e-8)


def test_ppr_star_ranks_by_distance_and_weight():
    # hub H (0) with leaves 1 (weight 2) and 2 (weight 1); 3 hangs off 2; seed H.
    a = np.zeros((4, 4))
    a[0, 1] = a[1, 0] = 2
    a[0, 2] = a[2, 0] = 1
    a[2, 3] = a[3, 2] = 1
    r = personalized_pagerank(a, np.array([1.0, 0, 0, 0]), damping=0.5, iterations=200)
    assert list(np.argsort(-r)) == [0, 1, 2, 3]


def test_entity_chunk_ppr_ranking(graph_kit, tmp_path: Path):
    # c1 mentions Xavier and Yolanda, c2 mentions Yolanda only, c3 Zed only: from Xavier, c1 > c2 > c3 = 0
    graph_kit.index(write_files(tmp_path / "docs", {
        "c1.txt": "Xavier met Yolanda.", "c2.txt": "Yolanda sang.", "c3.txt": "Zed slept.",
    }))
    g = graph_kit.graph.index
    scores = g.ppr({"xavier": 1.0})
    by_doc = {Path(g.chunk_doc[c]).stem: s for c, s in zip(g.chunk_ids, scores)}
    assert by_doc["c1"] > by_doc["c2"] > 0 == by_doc["c3"]
    # specificity: a seed on a rare entity outweighs one on an entity every chunk mentions
    assert g.df[g.entity_col["yolanda"]] == 2
