"""The tuner recovers a known CC weight on a synthetic set."""
from __future__ import annotations

import numpy as np
import pytest

from ragkit.retrieval.fusion import convex_combination, normalize
from ragkit.retrieval.tune import prepare, tune_candidates


def synthetic(true_weight: float, queries: int = 30, docs: int = 60, seed: int = 0):
    """Queries whose relevance follows CC(min-max) at ``true_weight`` of two independent score lists."""
    rng = np.random.default_rng(seed)
    candidates, qrels = [], []
    for _ in range(queries):
        ids = [f"d{i}" for i in range(docs)]
        lex, den = rng.gamma(2.0, 3.0, docs), rng.uniform(0.1, 0.9, docs)
        truth = (1 - true_weight) * normalize(lex) + true_weight * normalize(den)
        order = np.argsort(-truth)
        rels = {ids[i]: (3 if rank < 3 else 1) for rank, i in enumerate(order[:10])}
        by = lambda s: sorted(zip(ids, s.tolist()), key=lambda t: -t[1])  # noqa: E731
        candidates.append((by(lex), by(den)))
        qrels.append(rels)
    return candidates, qrels


@pytest.mark.parametrize("true_weight", [0.25, 0.7])
def test_recovers_known_weight(true_weight: float) -> None:
    candidates, qrels = synthetic(true_weight)
    result = tune_candidates(candidates, qrels, normalizations=("minmax",))
    assert abs(result.weight - true_weight) <= 0.05 + 1e-9
    assert result.ndcg > 0.98
    assert result.ndcg > result.baseline
    assert result.queries == 30


def test_grid_matches_direct_fusion_at_document_level() -> None:
    lex = [("a1", 5.0), ("b1", 4.0), ("a2", 1.0)]
    den = [("b1", 0.8), ("c1", 0.6), ("a1", 0.1)]
    doc_of = {"a1": "A", "a2": "A", "b1": "B", "c1": "C"}
    rels = {"C": 1}
    p = prepare(lex, den, rels, doc_of)
    from ragkit.retrieval.tune import ndcg_grid

    weights = np.array([0.0, 0.5, 1.0])
    got = ndcg_grid(p, "minmax", weights)
    for w, value in zip(weights, got):
        fused = convex_combination({"l": lex, "d": den}, {"l": 1 - w, "d": w})
        docs = list(dict.fromkeys(doc_of[f.id] for f in fused))
        rank = docs.index("C") + 1
        assert value == pytest.approx(1 / np.log2(rank + 1))
