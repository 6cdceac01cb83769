"""What the retrievers share: candidate lists and turning them into hits."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ragkit.types import Hit

if TYPE_CHECKING:
    from ragkit.store import Store

Ranked = list[tuple[str, float]]


def to_hits(
    store: Store,
    ranked: Sequence[tuple[str, float]],
    k: int,
    scores: Sequence[Mapping[str, float]] | None = None,
) -> list[Hit]:
    """The first ``k`` committed chunks of ``ranked`` as hits; ids the store no longer has are skipped."""
    hits: list[Hit] = []
    start = 0
    while len(hits) < k and start < len(ranked):
        part = ranked[start : start + k - len(hits)]
        found = {c.chunk_id: c for c in store.chunks([cid for cid, _ in part])}
        for j, (cid, score) in enumerate(part, start):
            chunk = found.get(cid)
            if chunk is not None:
                hits.append(Hit(chunk=chunk, score=float(score), scores=dict(scores[j]) if scores else {}))
        start += len(part)
    return hits
