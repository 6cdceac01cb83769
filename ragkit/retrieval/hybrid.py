"""Hybrid retrieval: lexical and dense candidates fused by CC (normalized scores) or RRF."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ragkit.config import RetrievalConfig
from ragkit.retrieval.base import Ranked, to_hits
from ragkit.retrieval.fusion import Fused, fuse
from ragkit.types import Hit


def fuse_pair(lexical: Ranked, dense: Ranked, config: RetrievalConfig) -> list[Fused]:
    """Fuse one query's lexical and dense candidates as ``config`` says (weight = the dense share)."""
    lists = {"lexical": lexical, "dense": dense}
    if config.fusion == "rrf":
        return fuse(lists, "rrf", rrf_k=config.rrf_k)
    weight = config.weight
    return fuse(lists, "cc", weights={"lexical": 1.0 - weight, "dense": weight}, normalization=config.normalization)


class HybridRetriever:
    """Runs a lexical and a dense retriever to ``config.depth`` each and fuses their candidates."""

    name = "hybrid"

    def __init__(self, store: Any, lexical: Any, dense: Any, config: RetrievalConfig):
        self.store = store
        self.lexical = lexical
        self.dense = dense
        self.config = config

    def candidate_lists(
        self, queries: Sequence[str], where: Mapping[str, Any] | None = None, depth: int | None = None
    ) -> list[tuple[Ranked, Ranked]]:
        """Per query, the (lexical, dense) candidate lists before fusion."""
        depth = depth or self.config.depth
        lex = self.lexical.candidates(queries, depth, where)
        den = self.dense.candidates(queries, depth, where)
        return list(zip(lex, den))

    def candidates(
        self, queries: Sequence[str], depth: int | None = None, where: Mapping[str, Any] | None = None
    ) -> list[list[Fused]]:
        """Fused candidates per query, best first."""
        return [fuse_pair(lex, den, self.config) for lex, den in self.candidate_lists(queries, where, depth)]

    def run(self, query: str, k: int = 10, where: dict[str, Any] | None = None) -> list[Hit]:
        fused = self.candidates([query], where=where)[0]
        return to_hits(self.store, [(f.id, f.score) for f in fused], k, [f.scores for f in fused])
