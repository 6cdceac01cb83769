"""The read side of one open store as typed parts, built once: the graph reader, the retrieval service
(every retriever and the reranker), the answer evidence and the answerer. A Kit builds one under its
lock on first use and drops it when a rebuild or repair changes what the parts cached."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ragkit.generation.evidence import Evidence
from ragkit.generation.pipeline import Answerer, Generators
from ragkit.kit.graph import KitGraph
from ragkit.router.service import RetrievalService

if TYPE_CHECKING:
    from ragkit.config import Config
    from ragkit.protocols import Embedder
    from ragkit.store import Store


@dataclass(frozen=True)
class Runtime:
    """Each part takes what it needs in its constructor; nothing looks a part up by name."""

    graph: KitGraph
    retrieval: RetrievalService
    evidence: Evidence
    answers: Answerer

    @classmethod
    def build(cls, store: Store, embedder: Embedder, config: Config) -> Runtime:
        graph = KitGraph(store, embedder, config)
        retrieval = RetrievalService(store, embedder, config, graph)
        evidence = Evidence(retrieval)
        answers = Answerer(evidence.run, evidence.hits, Generators(config.generator, embedder, graph.mentions))
        return cls(graph, retrieval, evidence, answers)

    def close(self) -> None:
        """Stop what the parts run (the retrievers' embedding threads); they start again when asked."""
        self.retrieval.close()
