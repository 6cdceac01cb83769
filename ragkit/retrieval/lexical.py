"""Lexical retrieval: BM25 (bm25s) over chunk texts, filtered by a row mask."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ragkit.access import Scope
from ragkit.retrieval.base import Ranked, to_hits
from ragkit.retrieval.filters import FilterResolver, GenerationCache, scope_key
from ragkit.types import Hit

if TYPE_CHECKING:
    from ragkit.indexes.bm25 import Bm25Index
    from ragkit.indexes.segments import SegmentedIndex
    from ragkit.store import Store


class LexicalRetriever:
    """BM25 over the store's committed chunks; a scope becomes a 0/1 mask over the index rows."""

    name = "lexical"

    def __init__(self, store: Store, filters: FilterResolver | None = None):
        self.store = store
        self.filters = filters or FilterResolver(store)
        self._masks = GenerationCache(lambda: store.generation, size=16)

    def _mask(self, index: Bm25Index | SegmentedIndex, scope: Scope | None) -> np.ndarray | None:
        allowed = self.filters.allowed(scope)
        if allowed is None:
            return None
        return self._masks.get(
            (id(index), scope_key(scope)),
            lambda: np.fromiter((cid in allowed for cid in index.ids), dtype=np.float32, count=len(index.ids)),
        )

    def candidates(self, queries: Sequence[str], depth: int, scope: Scope | None = None) -> list[Ranked]:
        """Top ``depth`` (chunk id, BM25 score) per query, allowed chunks only."""
        index = self.store.lexical()
        mask = self._mask(index, scope)
        if mask is not None and not mask.any():
            return [[] for _ in queries]
        return index.query_batch(list(queries), depth, mask=mask)

    def run(self, query: str, k: int = 10, scope: Scope | None = None) -> list[Hit]:
        ranked = self.candidates([query], k, scope)[0]
        return to_hits(self.store, ranked, k, [{self.name: s} for _, s in ranked])
