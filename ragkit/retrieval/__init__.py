"""Retrieval: the lexical (BM25), dense (chroma) and hybrid (CC/RRF fusion) retrievers, scope filters,
fusion, reranking, metrics and the fusion tuner. ``ragkit.router.RetrievalService`` builds them once per
store (with the router's graph and auto modes) and keeps them warm between queries."""
from __future__ import annotations

from ragkit.retrieval.base import Ranked, to_hits
from ragkit.retrieval.dense import DenseRetriever
from ragkit.retrieval.filters import FilterResolver
from ragkit.retrieval.fusion import Fused, convex_combination, fuse, normalize, reciprocal_rank_fusion
from ragkit.retrieval.hybrid import HybridRetriever, fuse_pair
from ragkit.retrieval.lexical import LexicalRetriever

__all__ = [
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
]
