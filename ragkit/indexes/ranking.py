"""The top of a score vector, shared by the in-memory and the segmented BM25 indexes."""
from __future__ import annotations

from typing import Any

import numpy as np


def top_k(scores: np.ndarray, k: int, ids_of: Any) -> list[tuple[str, float]]:
    """The ``k`` best positive scores as (id, score), ties broken by id (so two indexes holding the
    same scores under other row orders return the same list); ``ids_of(rows)`` names rows."""
    cand = np.flatnonzero(scores > 0)
    if not len(cand) or k <= 0:
        return []
    vals = scores[cand]
    if len(cand) > k:
        kth = np.partition(vals, len(vals) - k)[len(vals) - k]
        keep = vals >= kth  # every row tied with the k-th best stays a candidate
        cand, vals = cand[keep], vals[keep]
    pairs = sorted(zip((-vals).tolist(), ids_of(cand)))
    return [(cid, -s) for s, cid in pairs[:k]]
