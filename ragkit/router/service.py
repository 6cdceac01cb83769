"""The search service of one open store: every retriever (lexical, dense, hybrid, graph, auto) and the
reranker, built on first use from the parts it is given and kept warm between queries."""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from graphs.traverse import GraphIndex
from ragkit.access import Principal, Scope
from ragkit.config import Config, RetrievalConfig
from ragkit.retrieval.base import to_hits
from ragkit.retrieval.dense import DenseRetriever
from ragkit.retrieval.filters import FilterResolver
from ragkit.retrieval.fusion import Fused
from ragkit.retrieval.hybrid import HybridRetriever
from ragkit.retrieval.lexical import LexicalRetriever
from ragkit.router.auto import AutoRetriever
from ragkit.router.graph_reader import GraphReader
from ragkit.types import Hit

if TYPE_CHECKING:
    from ragkit.protocols import Embedder, Reranker
    from ragkit.store import Store

MODES = ("lexical", "dense", "hybrid", "auto")  # search modes: each finds something for any query
COMPONENT_MODES = ("graph",)  # graph alone: PPR from the entities a query names (nothing when it names none)

T = TypeVar("T")


class RetrievalService:
    """The retrievers of one store, built once each (under a lock) and kept: no per-query model load or
    store open. ``config`` is the store's live Config: a swapped ``config.retrieval`` (a tuned weight,
    an eval variant) takes effect on the next query."""

    def __init__(self, store: Store, embedder: Embedder, config: Config, graph: GraphReader | None = None):
        self.store = store
        self.embedder = embedder
        self.settings = config
        self.graph = graph
        self._parts: dict[str, object] = {}
        self._lock = threading.RLock()

    @property
    def config(self) -> RetrievalConfig:
        return self.settings.retrieval

    def _part(self, name: str, kind: type[T], build: Callable[[], T]) -> T:
        found = self._parts.get(name)
        if found is None:
            with self._lock:  # re-entrant: building the hybrid builds the lexical and dense parts
                found = self._parts.get(name)
                if found is None:
                    found = self._parts[name] = build()
        assert isinstance(found, kind)
        return found

    @property
    def filters(self) -> FilterResolver:
        return self._part("filters", FilterResolver, lambda: FilterResolver(self.store))

    def lexical(self) -> LexicalRetriever:
        return self._part("lexical", LexicalRetriever, lambda: LexicalRetriever(self.store, self.filters))

    def dense(self) -> DenseRetriever:
        return self._part("dense", DenseRetriever, lambda: DenseRetriever(self.store, self.embedder, self.filters))

    def hybrid(self) -> HybridRetriever:
        hybrid = self._part(
            "hybrid", HybridRetriever, lambda: HybridRetriever(self.store, self.lexical(), self.dense(), self.config)
        )
        hybrid.config = self.config  # follows config changes (e.g. a tuned weight)
        return hybrid

    def auto(self, mode: str = "auto") -> AutoRetriever:
        """The router (``auto``: text and graph) or the graph retriever alone (``graph``)."""
        return self._part(mode, AutoRetriever, lambda: AutoRetriever(
            self.hybrid(), self._graph_index, self.filters, lambda: self.config, text=(mode == "auto"),
            linker=self.graph.linker if self.graph is not None else None,
        ))

    def _graph_index(self, who: Principal | None = None) -> GraphIndex | None:
        """The graph ``who`` may walk (the whole graph for None), or None when the store has none."""
        graph = self.graph
        if graph is None or not graph.available():
            return None
        return graph.index if who is None else graph.view(who)

    def retriever(self, mode: str | None = None) -> LexicalRetriever | DenseRetriever | HybridRetriever | AutoRetriever:
        """The retriever for ``mode`` (lexical | dense | hybrid | graph | auto; default from the config)."""
        mode = mode or self.config.mode
        if mode == "lexical":
            return self.lexical()
        if mode == "dense":
            return self.dense()
        if mode == "hybrid":
            return self.hybrid()
        if mode in ("graph", "auto"):
            return self.auto(mode)
        raise ValueError(f"unknown mode {mode!r}; valid: {', '.join(MODES + COMPONENT_MODES)}")

    @property
    def reranker(self) -> Reranker | None:
        """The configured reranker (None when ``reranker.name`` is ``none``)."""
        config = self.settings.reranker
        if config.name == "none":
            return None
        from ragkit.retrieval.rerank import make_reranker

        key = f"reranker:{config.name}:{config.model_path}"
        found = self._parts.get(key)
        if found is None:
            with self._lock:
                found = self._parts.get(key)
                if found is None:
                    found = self._parts[key] = make_reranker(config)
        return found  # type: ignore[return-value]  # only make_reranker writes this key: a Reranker

    def ranked(
        self, queries: Sequence[str], mode: str | None = None, scope: Scope | None = None, depth: int | None = None,
    ) -> list[list[Fused]]:
        """Every candidate per query, best first, with per-retriever scores (chunk level, no texts)."""
        mode = mode or self.config.mode
        retriever = self.retriever(mode)
        if isinstance(retriever, (HybridRetriever, AutoRetriever)):
            return retriever.candidates(queries, depth=depth, scope=scope)
        lists = retriever.candidates(queries, depth or self.config.depth, scope)
        return [[Fused(cid, s, {mode: s}) for cid, s in ranked] for ranked in lists]

    def search_batch(
        self, queries: Sequence[str], k: int | None = None, mode: str | None = None, scope: Scope | None = None,
    ) -> list[list[Hit]]:
        """The best ``k`` hits per query (queries embedded and scored as one batch), all from one committed
        generation of the store (``Hit.generation``; see ``Store.read_consistent``)."""
        k = k or self.config.k
        reranker = self.reranker
        fetch = max(k, self.settings.reranker.depth) if reranker else k
        depth = max(self.config.depth, fetch)

        def read(generation: int) -> list[list[Hit]]:
            out = []
            for query, fused in zip(queries, self.ranked(list(queries), mode, scope, depth)):
                hits = to_hits(self.store, [(f.id, f.score) for f in fused], fetch, [f.scores for f in fused])
                paths = {f.id: f.paths for f in fused if f.paths}
                for hit in hits:
                    hit.paths = list(paths.get(hit.chunk.chunk_id, []))
                    hit.generation = generation
                out.append(reranker.run(query, hits, k) if reranker else hits)
            return out

        return self.store.read_consistent(read)

    def search(self, query: str, k: int | None = None, mode: str | None = None, scope: Scope | None = None) -> list[Hit]:
        """The best ``k`` hits for one query."""
        return self.search_batch([query], k, mode, scope)[0]

    def close(self) -> None:
        """Release what the retrievers hold (threads); they start again on the next query."""
        with self._lock:
            for part in self._parts.values():
                close = getattr(part, "close", None)  # the hybrid's embedding threads, a reranker's model
                if callable(close):
                    close()
