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
structural neighbourhoods), :mod:`~ragkit.router.auto` (the retrievers). The graph's evidence for an
answer is the generation layer's (:mod:`ragkit.generation.evidence`).
"""
from __future__ import annotations

from ragkit.router.auto import AutoRetriever, make_retriever
from ragkit.router.graph_search import GraphSearch
from ragkit.router.plan import QueryPlan, RouterSettings, balance, plan

__all__ = ["AutoRetriever", "GraphSearch", "QueryPlan", "RouterSettings", "balance", "make_retriever", "plan"]
