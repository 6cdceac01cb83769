"""Fusion of ranked lists: convex combination (CC) of normalized scores and reciprocal rank fusion (RRF).

A ranked list is a sequence of ``(id, score)`` pairs, best first. Fusion returns ``Fused`` rows sorted by
fused score, each keeping every retriever's raw score (missing where a retriever did not return the id).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

Ranked = Sequence[tuple[str, float]]
NORMALIZATIONS = ("minmax", "zscore")
FUSIONS = ("cc", "rrf")


@dataclass
class Fused:
    """One fused candidate: its id, fused score and the raw score from each retriever that found it."""

    id: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)  # how the candidate was reached (ragkit.router)


def normalize(scores: np.ndarray, method: str = "minmax") -> np.ndarray:
    """Normalize one list's scores: ``minmax`` to [0, 1] or ``zscore`` (mean 0, std 1).

    A constant list maps to 1 (minmax) or 0 (zscore); an empty list stays empty.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return scores
    if method == "minmax":
        lo, hi = scores.min(), scores.max()
        return (scores - lo) / (hi - lo) if hi > lo else np.ones_like(scores)
    if method == "zscore":
        std = scores.std()
        return (scores - scores.mean()) / std if std > 0 else np.zeros_like(scores)
    raise ValueError(f"unknown normalization {method!r}; valid: {', '.join(NORMALIZATIONS)}")


def convex_combination(
    lists: Mapping[str, Ranked],
    weights: Mapping[str, float],
    normalization: str = "minmax",
) -> list[Fused]:
    """CC fusion: ``sum_r weights[r] * normalize(score_r)`` over the union of the lists.

    An id missing from a list gets that list's lowest normalized score (0 for min-max), the
    convention of Bruch et al. (2023). Ties are broken by first appearance.
    """
    fused: dict[str, Fused] = {}
    for name, ranked in lists.items():
        for doc_id, score in ranked:
            fused.setdefault(doc_id, Fused(doc_id, 0.0)).scores[name] = float(score)
    for name, ranked in lists.items():
        weight = float(weights.get(name, 0.0))
        if not ranked:
            continue
        norm = normalize(np.array([s for _, s in ranked]), normalization)
        floor = float(norm.min())
        seen = {doc_id: float(n) for (doc_id, _), n in zip(ranked, norm)}
        for doc_id, row in fused.items():
            row.score += weight * seen.get(doc_id, floor)
    return sorted(fused.values(), key=lambda row: -row.score)


def reciprocal_rank_fusion(
    lists: Mapping[str, Ranked],
    k: int = 60,
    weights: Mapping[str, float] | None = None,
) -> list[Fused]:
    """RRF: ``sum_r weights[r] / (k + rank_r)`` with 1-based ranks (Cormack et al., 2009; weights 1)."""
    fused: dict[str, Fused] = {}
    for name, ranked in lists.items():
        weight = 1.0 if weights is None else float(weights.get(name, 0.0))
        for rank, (doc_id, score) in enumerate(ranked, start=1):
            row = fused.setdefault(doc_id, Fused(doc_id, 0.0))
            row.scores[name] = float(score)
            row.score += weight / (k + rank)
    return sorted(fused.values(), key=lambda row: -row.score)


def fuse(
    lists: Mapping[str, Ranked],
    fusion: str = "cc",
    *,
    weights: Mapping[str, float] | None = None,
    normalization: str = "minmax",
    rrf_k: int = 60,
) -> list[Fused]:
    """Dispatch to CC (``weights`` required, e.g. ``{"lexical": 0.5, "dense": 0.5}``) or RRF."""
    if fusion == "cc":
        if weights is None:
            weights = {name: 1.0 / max(len(lists), 1) for name in lists}
        return convex_combination(lists, weights, normalization)
    if fusion == "rrf":
        return reciprocal_rank_fusion(lists, rrf_k, weights)
    raise ValueError(f"unknown fusion {fusion!r}; valid: {', '.join(FUSIONS)}")

