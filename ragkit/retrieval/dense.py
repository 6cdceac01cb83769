"""Dense retrieval: the query's embedding against chroma's HNSW index, or an exact search over the
allowed vectors when a filter leaves a small share of the store."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ragkit.access import Scope
from ragkit.retrieval.base import Ranked, to_hits
from ragkit.retrieval.filters import FilterResolver, GenerationCache, scope_key
from ragkit.types import Hit

if TYPE_CHECKING:
    from ragkit.protocols import Embedder
    from ragkit.store import Store

EXACT_BELOW = 0.5  # filters that keep less than this share of the store use exact search
OVERFETCH_MAX = 4


class QueryEncoder:
    """Embeds queries with the store's embedder (a batch at once), remembering the last ``size``.
    Safe to call from several threads (the cache is locked; the model runs outside the lock)."""

    def __init__(self, embedder: Embedder, size: int = 4096):
        self.embedder = embedder
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def forget(self, query: str) -> None:
        with self._lock:
            self._cache.pop(query, None)

    def __call__(self, queries: Sequence[str]) -> np.ndarray:
        with self._lock:
            known = {q: self._cache[q] for q in queries if q in self._cache}
        todo = [q for q in dict.fromkeys(queries) if q not in known]
        if len(todo) == 1:
            known[todo[0]] = np.asarray(self.embedder.embed_query(todo[0]), dtype=np.float32)
        elif todo:
            known.update(zip(todo, np.asarray(self.embedder.embed(todo), dtype=np.float32)))
        with self._lock:
            for query in dict.fromkeys(queries):
                self._cache[query] = known[query]
                self._cache.move_to_end(query)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return np.stack([known[q] for q in queries])


class DenseRetriever:
    """Cosine similarity of normalized embeddings; scores are cosine similarities."""

    name = "dense"

    def __init__(self, store: Store, embedder: Embedder, filters: FilterResolver | None = None):
        self.store = store
        self.encode = QueryEncoder(embedder)
        self.filters = filters or FilterResolver(store)
        self._subsets = GenerationCache(lambda: store.generation, size=8)

    def _total(self) -> int:
        """Committed chunks (cached per generation; chroma's count() costs 13 ms at 100k vectors)."""
        return self._subsets.get("total", self.store.count_chunks)

    def _hnsw(self, vectors: np.ndarray, k: int) -> list[Ranked]:
        """The vector store's approximate top ``k`` as (id, cosine)."""
        if self._total() == 0:
            return [[] for _ in range(len(vectors))]
        return self.store.vectors.query_batch(vectors, k)

    def _subset(self, scope: Scope | None, allowed: frozenset[str]) -> tuple[list[str], np.ndarray]:
        def load() -> tuple[list[str], np.ndarray]:
            ids = sorted(allowed)
            return ids, np.ascontiguousarray(self.store.vectors.get_vectors(ids), dtype=np.float32)

        return self._subsets.get(scope_key(scope), load)

    def candidates(
        self,
        queries: Sequence[str],
        depth: int,
        scope: Scope | None = None,
        vectors: np.ndarray | None = None,
    ) -> list[Ranked]:
        """Top ``depth`` (chunk id, cosine) per query, allowed chunks only."""
        if not queries:
            return []
        vectors = self.encode(queries) if vectors is None else vectors
        allowed = self.filters.allowed(scope)
        if allowed is None:
            return self._hnsw(vectors, depth)
        if not allowed:
            return [[] for _ in queries]
        share = len(allowed) / max(self._total(), 1)
        if share >= EXACT_BELOW:
            fetch = int(depth * min(OVERFETCH_MAX, 1.0 / share) + 16)
            found = self._hnsw(vectors, fetch)
            kept = [[(cid, s) for cid, s in ranked if cid in allowed][:depth] for ranked in found]
            if all(len(r) >= min(depth, len(allowed)) or len(f) < fetch for r, f in zip(kept, found)):
                return kept
        ids, matrix = self._subset(scope, allowed)
        return exact_top(ids, matrix, vectors, depth)

    def run(self, query: str, k: int = 10, scope: Scope | None = None) -> list[Hit]:
        ranked = self.candidates([query], k, scope)[0]
        return to_hits(self.store, ranked, k, [{self.name: s} for _, s in ranked])


def exact_top(ids: Sequence[str], matrix: np.ndarray, vectors: np.ndarray, depth: int) -> list[Ranked]:
    """Exact inner-product top ``depth`` of each query vector against ``matrix`` rows."""
    if len(ids) == 0:
        return [[] for _ in range(len(vectors))]
    scores = (matrix @ np.asarray(vectors, dtype=np.float32).T).T  # matrix-vector product on contiguous rows
    kk = min(depth, len(ids))
    out: list[Ranked] = []
    for row in scores:
        top = np.argpartition(-row, kk - 1)[:kk]
        top = top[np.argsort(-row[top], kind="stable")]
        out.append([(ids[i], float(row[i])) for i in top])
    return out
