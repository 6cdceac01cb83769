"""Fusion functions against hand-computed examples."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ragkit.retrieval.fusion import convex_combination, fuse, normalize, reciprocal_rank_fusion

LEX = [("a", 10.0), ("b", 6.0), ("c", 2.0)]
DEN = [("b", 0.9), ("d", 0.7), ("a", 0.5)]


def scores(rows) -> dict[str, float]:
    return {r.id: r.score for r in rows}


def test_normalize() -> None:
    assert normalize(np.array([10.0, 6.0, 2.0]), "minmax") == pytest.approx([1.0, 0.5, 0.0])
    z = 4 / math.sqrt(32 / 3)
    assert normalize(np.array([10.0, 6.0, 2.0]), "zscore") == pytest.approx([z, 0.0, -z])
    assert normalize(np.array([3.0, 3.0]), "minmax") == pytest.approx([1.0, 1.0])
    assert normalize(np.array([3.0, 3.0]), "zscore") == pytest.approx([0.0, 0.0])
    assert normalize(np.array([]), "minmax").size == 0
    with pytest.raises(ValueError, match="valid: minmax, zscore"):
        normalize(np.array([1.0]), "max")


def test_cc_minmax_hand_computed() -> None:
    rows = convex_combination({"lexical": LEX, "dense": DEN}, {"lexical": 0.5, "dense": 0.5})
    assert [r.id for r in rows] == ["b", "a", "d", "c"]
    assert scores(rows) == pytest.approx({"a": 0.5, "b": 0.75, "c": 0.0, "d": 0.25})
    rows = convex_combination({"lexical": LEX, "dense": DEN}, {"lexical": 0.2, "dense": 0.8})
    assert scores(rows) == pytest.approx({"a": 0.2, "b": 0.9, "c": 0.0, "d": 0.4})
    assert [r.id for r in rows] == ["b", "d", "a", "c"]
    assert rows[0].scores == {"lexical": 6.0, "dense": 0.9}
    assert rows[-1].scores == {"lexical": 2.0}


def test_cc_zscore_hand_computed() -> None:
    z = 4 / math.sqrt(32 / 3)  # the top and bottom z of both lists
    rows = convex_combination({"lexical": LEX, "dense": DEN}, {"lexical": 0.5, "dense": 0.5}, "zscore")
    assert scores(rows) == pytest.approx({"a": 0.0, "b": z / 2, "c": -z, "d": -z / 2})
    assert [r.id for r in rows] == ["b", "a", "d", "c"]


def test_rrf_hand_computed() -> None:
    rows = reciprocal_rank_fusion({"lexical": LEX, "dense": DEN}, k=60)
    assert scores(rows) == pytest.approx(
        {"a": 1 / 61 + 1 / 63, "b": 1 / 62 + 1 / 61, "c": 1 / 63, "d": 1 / 62}
    )
    assert [r.id for r in rows] == ["b", "a", "d", "c"]
    rows = reciprocal_rank_fusion({"lexical": LEX, "dense": DEN}, k=1)
    assert scores(rows)["a"] == pytest.approx(1 / 2 + 1 / 4)


def test_fuse_dispatch_and_empty_lists() -> None:
    assert [r.id for r in fuse({"lexical": LEX, "dense": []}, "cc")] == ["a", "b", "c"]
    assert fuse({"lexical": [], "dense": []}, "rrf") == []
    with pytest.raises(ValueError, match="unknown fusion"):
        fuse({"lexical": LEX}, "max")
