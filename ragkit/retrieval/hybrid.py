"""Hybrid retrieval: lexical and dense candidates fused by CC (normalized scores) or RRF."""
from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from ragkit.access import Scope
from ragkit.config import RetrievalConfig
from ragkit.retrieval.base import Ranked, to_hits
from ragkit.retrieval.dense import DenseRetriever
from ragkit.retrieval.fusion import Fused, fuse
from ragkit.retrieval.lexical import LexicalRetriever
from ragkit.types import Hit

if TYPE_CHECKING:
    from ragkit.store import Store


def fuse_pair(lexical: Ranked, dense: Ranked, config: RetrievalConfig) -> list[Fused]:
    """Fuse one query's lexical and dense candidates as ``config`` says (weight = the dense share)."""
    lists = {"lexical": lexical, "dense": dense}
    if config.fusion == "rrf":
        return fuse(lists, "rrf", rrf_k=config.rrf_k)
    weight = config.weight
    return fuse(lists, "cc", weights={"lexical": 1.0 - weight, "dense": weight}, normalization=config.normalization)


class HybridRetriever:
    """Runs a lexical and a dense retriever to ``config.depth`` each and fuses their candidates.

    The queries are embedded on a worker thread while the lexical search runs (the model and numpy
    release the GIL), so a query costs about the longer of the two, not their sum.
    """

    name = "hybrid"
    EMBED_WORKERS = 4  # concurrent callers (server threads) each get one

    def __init__(self, store: Store, lexical: LexicalRetriever, dense: DenseRetriever, config: RetrievalConfig):
        self.store = store
        self.lexical = lexical
        self.dense = dense
        self.config = config
        self._pool: ThreadPoolExecutor | None = None

    def _embedding(self, queries: Sequence[str]) -> Future[np.ndarray]:
        """A future of the query vectors."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.EMBED_WORKERS, thread_name_prefix="ragkit-embed")
        return self._pool.submit(self.dense.encode, list(queries))

    def candidate_lists(
        self, queries: Sequence[str], scope: Scope | None = None, depth: int | None = None
    ) -> list[tuple[Ranked, Ranked]]:
        """Per query, the (lexical, dense) candidate lists before fusion."""
        depth = depth or self.config.depth
        if not queries:
            return []
        future = self._embedding(queries)
        try:
            lex = self.lexical.candidates(queries, depth, scope)
        finally:
            vectors = future.result()
        den = self.dense.candidates(queries, depth, scope, vectors=vectors)
        return list(zip(lex, den))

    def close(self) -> None:
        """Stop the embedding threads (started again on the next query)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def candidates(
        self, queries: Sequence[str], depth: int | None = None, scope: Scope | None = None
    ) -> list[list[Fused]]:
        """Fused candidates per query, best first."""
        return [fuse_pair(lex, den, self.config) for lex, den in self.candidate_lists(queries, scope, depth)]

    def run(self, query: str, k: int = 10, scope: Scope | None = None) -> list[Hit]:
        fused = self.candidates([query], scope=scope)[0]
        return to_hits(self.store, [(f.id, f.score) for f in fused], k, [f.scores for f in fused])
