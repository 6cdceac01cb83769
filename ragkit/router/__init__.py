"""The query router (``--mode auto``) and the graph retriever (``--mode graph``).

``plan`` reads a query's features (entities it names, relational / comparison words, bridge patterns,
references to sections, tables, pages, links or files, length) and decides the mix: the lexical/dense
balance, whether and how strongly to add structural retrieval, and whether to interleave hops. The
auto retriever then runs text retrieval, seeds a personalized PageRank over the entity-chunk graph with
the query's entities and (for multi-hop) the entities of the first-hop chunks, adds structural
neighbourhoods for structural queries, and fuses everything with the retrieval layer's CC fusion. A
candidate reached by both a text and a graph path gets a trajectory bonus. Every candidate keeps the
paths that reached it (``Fused.paths`` -> ``Hit.paths``).

Rooms: :mod:`~ragkit.router.plan` (features and the mix), :mod:`~ragkit.router.graph_search` (PPR and
structural neighbourhoods), :mod:`~ragkit.router.auto` (the router's retriever),
:mod:`~ragkit.router.graph_reader` (the store's graph, read only) and :mod:`~ragkit.router.service`
(every retriever of one store, built once: what a Kit searches with). The graph's evidence for an
answer is the generation layer's (:mod:`ragkit.generation.evidence`).
"""
from __future__ import annotations

from ragkit.router.auto import AutoRetriever
from ragkit.router.graph_reader import GraphReader, Linker
from ragkit.router.graph_search import GraphSearch
from ragkit.router.plan import QueryPlan, RouterSettings, balance, plan
from ragkit.router.service import COMPONENT_MODES, MODES, RetrievalService

__all__ = [
    "AutoRetriever", "COMPONENT_MODES", "GraphReader", "GraphSearch", "Linker", "MODES", "QueryPlan",
    "RetrievalService", "RouterSettings", "balance", "plan",
]
