"""Lexical retrieval: BM25 (bm25s) over chunk texts, filtered by a row mask."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ragkit.retrieval.base import Ranked, to_hits
from ragkit.retrieval.filters import FilterResolver, GenerationCache, where_key
from ragkit.types import Hit


class LexicalRetriever:
    """BM25 over the store's committed chunks; ``where`` filters become a 0/1 mask over the index rows."""

    name = "lexical"

    def __init__(self, store: Any, filters: FilterResolver | None = None):
        self.store = store
        self.filters = filters or FilterResolver(store)
        self._masks = GenerationCache(lambda: store.generation, size=16)

    def _mask(self, index: Any, where: Mapping[str, Any] | None) -> np.ndarray | None:
        allowed = self.filters.allowed(where)
        if allowed is None:
            return None
        return self._masks.get(
            (id(index), where_key(where)),
            lambda: np.fromiter((cid in allowed for cid in index.ids), dtype=np.float32, count=len(index.ids)),
        )

    def candidates(self, queries: Sequence[str], depth: int, where: Mapping[str, Any] | None = None) -> list[Ranked]:
        """Top ``depth`` (chunk id, BM25 score) per query, allowed chunks only."""
        index = self.store.lexical()
        mask = self._mask(index, where)
        if mask is not None and not mask.any():
            return [[] for _ in queries]
        return index.query_batch(list(queries), depth, mask=mask)

    def run(self, query: str, k: int = 10, where: dict[str, Any] | None = None) -> list[Hit]:
        ranked = self.candidates([query], k, where)[0]
        return to_hits(self.store, ranked, k, [{self.name: s} for _, s in ranked])
