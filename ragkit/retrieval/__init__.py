"""Retrieval: lexical (BM25), dense (chroma) and hybrid (CC/RRF fusion) retrievers behind one service
that a Kit holds, so models, indexes and filters load once and stay warm between queries."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ragkit.config import RetrievalConfig
from ragkit.retrieval.base import Ranked, to_hits
from ragkit.retrieval.dense import DenseRetriever
from ragkit.retrieval.filters import FilterResolver
from ragkit.retrieval.fusion import Fused, convex_combination, fuse, normalize, reciprocal_rank_fusion
from ragkit.retrieval.hybrid import HybridRetriever, fuse_pair
from ragkit.retrieval.lexical import LexicalRetriever
from ragkit.types import Hit

MODES = ("lexical", "dense", "hybrid", "auto")  # search modes: each finds something for any query
COMPONENT_MODES = ("graph",)  # graph alone: PPR from the entities a query names (nothing when it names none)


class RetrievalService:
    """The retrievers of one Kit, built on first use and kept: no per-query model load or store open."""

    def __init__(self, kit: Any):
        self.kit = kit
        self._parts: dict[str, Any] = {}

    @property
    def config(self) -> RetrievalConfig:
        return self.kit.config.retrieval

    def _part(self, name: str, build: Any) -> Any:
        if name not in self._parts:
            self._parts[name] = build()
        return self._parts[name]

    @property
    def filters(self) -> FilterResolver:
        return self._part("filters", lambda: FilterResolver(self.kit.store))

    def retriever(self, mode: str | None = None) -> Any:
        """The retriever for ``mode`` (lexical | dense | hybrid; default from the config)."""
        mode = mode or self.config.mode
        if mode == "lexical":
            return self._part("lexical", lambda: LexicalRetriever(self.kit.store, self.filters))
        if mode == "dense":
            return self._part("dense", lambda: DenseRetriever(self.kit.store, self.kit.embedder, self.filters))
        if mode == "hybrid":
            hybrid = self._part(
                "hybrid",
                lambda: HybridRetriever(self.kit.store, self.retriever("lexical"), self.retriever("dense"), self.config),
            )
            hybrid.config = self.config  # follows config changes (e.g. a tuned weight)
            return hybrid
        if mode in ("graph", "auto"):  # ragkit.router: structural retrieval and the query router
            from ragkit.router import make_retriever

            return self._part(mode, lambda: make_retriever(self, mode))
        raise ValueError(f"unknown mode {mode!r}; valid: {', '.join(MODES + COMPONENT_MODES)}")

    @property
    def reranker(self) -> Any | None:
        """The configured reranker (None when ``reranker.name`` is ``none``)."""
        config = self.kit.config.reranker
        if config.name == "none":
            return None
        from ragkit.retrieval.rerank import make_reranker

        key = f"reranker:{config.name}:{config.model_path}"
        return self._part(key, lambda: make_reranker(config))

    def ranked(
        self,
        queries: Sequence[str],
        mode: str | None = None,
        where: Mapping[str, Any] | None = None,
        depth: int | None = None,
    ) -> list[list[Fused]]:
        """Every candidate per query, best first, with per-retriever scores (chunk level, no texts)."""
        mode = mode or self.config.mode
        retriever = self.retriever(mode)
        if mode in ("hybrid", "graph", "auto"):
            return retriever.candidates(queries, depth=depth, where=where)
        lists = retriever.candidates(queries, depth or self.config.depth, where)
        return [[Fused(cid, s, {mode: s}) for cid, s in ranked] for ranked in lists]

    def search_batch(
        self,
        queries: Sequence[str],
        k: int | None = None,
        mode: str | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> list[list[Hit]]:
        """The best ``k`` hits per query (queries embedded and scored as one batch), all from one committed
        generation of the store (``Hit.generation``; see ``Store.read_consistent``)."""
        k = k or self.config.k
        reranker = self.reranker
        fetch = max(k, self.kit.config.reranker.depth) if reranker else k
        depth = max(self.config.depth, fetch)

        def read(generation: int) -> list[list[Hit]]:
            out = []
            for query, fused in zip(queries, self.ranked(list(queries), mode, where, depth)):
                hits = to_hits(self.kit.store, [(f.id, f.score) for f in fused], fetch, [f.scores for f in fused])
                paths = {f.id: f.paths for f in fused if f.paths}
                for hit in hits:
                    hit.paths = list(paths.get(hit.chunk.chunk_id, []))
                    hit.generation = generation
                out.append(reranker.run(query, hits, k) if reranker else hits)
            return out

        return self.kit.store.read_consistent(read)

    def search(
        self, query: str, k: int | None = None, mode: str | None = None, where: Mapping[str, Any] | None = None
    ) -> list[Hit]:
        """The best ``k`` hits for one query."""
        return self.search_batch([query], k, mode, where)[0]

    def close(self) -> None:
        """Release what the retrievers hold (threads); they start again on the next query."""
        for part in self._parts.values():
            if callable(getattr(part, "close", None)):
                part.close()


def service(kit: Any) -> RetrievalService:
    """The Kit's retrieval service, created on first use and cached on the Kit."""
    if hasattr(kit, "service"):
        return kit.service("retrieval", lambda: RetrievalService(kit))
    cached = getattr(kit, "_retrieval_service", None)
    if cached is None:
        cached = RetrievalService(kit)
        setattr(kit, "_retrieval_service", cached)
    return cached


def tune(kit: Any, queries: Mapping[str, str], qrels: Mapping[str, Mapping[str, int]], save: bool = True) -> Any:
    """Fit the hybrid fusion (CC weight and normalization) on labeled queries; see ``ragkit.retrieval.tune``."""
    from ragkit.retrieval.tune import tune_queries

    return tune_queries(kit, queries, qrels, save=save)


def search(
    kit: Any, query: str, k: int | None = None, mode: str | None = None, where: Mapping[str, Any] | None = None
) -> list[Hit]:
    """``kit.search``: the best ``k`` chunks for ``query`` in ``mode`` (lexical | dense | hybrid)."""
    return service(kit).search(query, k, mode, where)


def search_batch(
    kit: Any,
    queries: Sequence[str],
    k: int | None = None,
    mode: str | None = None,
    where: Mapping[str, Any] | None = None,
) -> list[list[Hit]]:
    """``kit.search_batch``: :func:`search` for many queries at once."""
    return service(kit).search_batch(queries, k, mode, where)


__all__ = [
    "MODES",
    "RetrievalService",
    "LexicalRetriever",
    "DenseRetriever",
    "HybridRetriever",
    "Fused",
    "Ranked",
    "fuse",
    "fuse_pair",
    "convex_combination",
    "reciprocal_rank_fusion",
    "normalize",
    "search",
    "search_batch",
    "service",
    "tune",
]
