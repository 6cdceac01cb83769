"""Dense retrieval: the query's embedding against chroma's HNSW index, or an exact search over the
allowed vectors when a filter leaves a small share of the store."""
from __future__ import annotations

import os
import sys
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ragkit.retrieval.base import Ranked, to_hits
from ragkit.retrieval.filters import FilterResolver, GenerationCache, where_key
from ragkit.types import Hit

EXACT_BELOW = 0.5  # filters that keep less than this share of the store use exact search
OVERFETCH_MAX = 4


@contextmanager
def lean_threads() -> Iterator[None]:
    """Run one query's embedding on one torch thread when the other cores are busy.

    Measured here: with the machine loaded, a 2-thread MiniLM query embedding took 730 ms (threads
    spin-waiting for each other) against 37 ms on one thread; on an idle machine 2 threads win a few ms.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    previous = torch.get_num_threads()
    busy = os.getloadavg()[0] > max((os.cpu_count() or 1) - 1, 0) if hasattr(os, "getloadavg") else True
    if previous == 1 or not busy:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class QueryEncoder:
    """Embeds queries with the store's embedder, remembering the last ``size`` single queries."""

    def __init__(self, embedder: Any, size: int = 1024):
        self.embedder = embedder
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def __call__(self, queries: Sequence[str]) -> np.ndarray:
        if len(queries) == 1:
            query = queries[0]
            vector = self._cache.get(query)
            if vector is None:
                with lean_threads():
                    vector = np.asarray(self.embedder.embed_query(query), dtype=np.float32)
                self._cache[query] = vector
                if len(self._cache) > self.size:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(query)
            return vector[None, :]
        return np.asarray(self.embedder.embed(list(queries)), dtype=np.float32)


class DenseRetriever:
    """Cosine similarity of normalized embeddings; scores are cosine similarities."""

    name = "dense"

    def __init__(self, store: Any, embedder: Any, filters: FilterResolver | None = None):
        self.store = store
        self.encode = QueryEncoder(embedder)
        self.filters = filters or FilterResolver(store)
        self._subsets = GenerationCache(lambda: store.generation, size=8)

    def _subset(self, where: Mapping[str, Any], allowed: frozenset[str]) -> tuple[list[str], np.ndarray]:
        def load() -> tuple[list[str], np.ndarray]:
            ids = sorted(allowed)
            return ids, np.asarray(self.store.vectors.get_vectors(ids), dtype=np.float32)

        return self._subsets.get(where_key(where), load)

    def candidates(
        self,
        queries: Sequence[str],
        depth: int,
        where: Mapping[str, Any] | None = None,
        vectors: np.ndarray | None = None,
    ) -> list[Ranked]:
        """Top ``depth`` (chunk id, cosine) per query, allowed chunks only."""
        if not queries:
            return []
        vectors = self.encode(queries) if vectors is None else vectors
        allowed = self.filters.allowed(where)
        if allowed is None:
            return self.store.vectors.query_batch(vectors, depth)
        if not allowed:
            return [[] for _ in queries]
        total = max(self.store.vectors.count(), 1)
        share = len(allowed) / total
        if share >= EXACT_BELOW:
            fetch = int(depth * min(OVERFETCH_MAX, 1.0 / share) + 16)
            found = self.store.vectors.query_batch(vectors, fetch)
            kept = [[(cid, s) for cid, s in ranked if cid in allowed][:depth] for ranked in found]
            if all(len(r) >= min(depth, len(allowed)) or len(f) < fetch for r, f in zip(kept, found)):
                return kept
        ids, matrix = self._subset(where, allowed)  # type: ignore[arg-type]
        return exact_top(ids, matrix, vectors, depth)

    def run(self, query: str, k: int = 10, where: dict[str, Any] | None = None) -> list[Hit]:
        ranked = self.candidates([query], k, where)[0]
        return to_hits(self.store, ranked, k, [{self.name: s} for _, s in ranked])


def exact_top(ids: Sequence[str], matrix: np.ndarray, vectors: np.ndarray, depth: int) -> list[Ranked]:
    """Exact inner-product top ``depth`` of each query vector against ``matrix`` rows."""
    if len(ids) == 0:
        return [[] for _ in range(len(vectors))]
    scores = vectors @ matrix.T
    kk = min(depth, len(ids))
    out: list[Ranked] = []
    for row in scores:
        top = np.argpartition(-row, kk - 1)[:kk]
        top = top[np.argsort(-row[top], kind="stable")]
        out.append([(ids[i], float(row[i])) for i in top])
    return out
