"""What the BEIR and multi-hop harnesses share: named retrieval variants, document-level rankings from
batched retrieval, and serial latency percentiles."""
from __future__ import annotations

from typing import TYPE_CHECKING

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ragkit.config import RetrievalConfig

if TYPE_CHECKING:
    from ragkit.kit import Kit
    from ragkit.store import Store

# Variants the harness can compare; "hybrid" is whatever the store's config says.
VARIANTS: dict[str, dict[str, Any]] = {
    "lexical": {"mode": "lexical"},
    "dense": {"mode": "dense"},
    "hybrid": {"mode": "hybrid"},
    "rrf": {"mode": "hybrid", "fusion": "rrf"},
    "cc": {"mode": "hybrid", "fusion": "cc", "normalization": "minmax", "weight": 0.5},
    "cc-zscore": {"mode": "hybrid", "fusion": "cc", "normalization": "zscore", "weight": 0.5},
    "graph": {"mode": "graph"},
    "auto": {"mode": "auto"},
}

Progress = Callable[[str, int, int], None]


@dataclass
class Variant:
    """A named retrieval configuration to evaluate (``rerank``: apply the store's reranker)."""

    name: str
    config: RetrievalConfig
    rerank: bool = False

    def describe(self) -> dict[str, Any]:
        c = self.config
        out: dict[str, Any] = {"mode": c.mode, "depth": c.depth}
        if c.mode == "hybrid":
            out["fusion"] = c.fusion
            if c.fusion == "rrf":
                out["rrf_k"] = c.rrf_k
            else:
                out.update(normalization=c.normalization, weight=c.weight)
        if self.rerank:
            out["reranker"] = True
        return out


def variant(name: str, base: RetrievalConfig, **overrides: Any) -> Variant:
    """A variant from VARIANTS (or ``base`` itself for ``hybrid``) with ``overrides`` applied."""
    if name not in VARIANTS:
        raise ValueError(f"unknown mode {name!r}; valid: {', '.join(VARIANTS)}")
    settings = {**VARIANTS[name], **overrides}
    config = replace(base)
    for key, value in settings.items():
        setattr(config, key, value)
    return Variant(name, config)


@contextmanager
def using(kit: Kit, config: RetrievalConfig) -> Iterator[None]:
    """Temporarily run the kit with another retrieval config (restored afterwards)."""
    saved = kit.config.retrieval
    kit.config.retrieval = config
    try:
        yield
    finally:
        kit.config.retrieval = saved


class DocMap:
    """chunk id -> document id, looked up from the store in bulk and remembered."""

    def __init__(self, store: Store):
        self.store = store
        self._map: dict[str, str] = {}

    def __call__(self, ids: Sequence[str]) -> dict[str, str]:
        missing = [i for i in dict.fromkeys(ids) if i not in self._map]
        if missing:
            self._map.update({c.chunk_id: c.doc_id for c in self.store.chunks(missing)})
        return self._map


def doc_rankings(
    kit: Kit,
    queries: Sequence[str],
    variant: Variant,
    docs: DocMap,
    batch: int = 64,
    progress: Progress | None = None,
) -> list[list[str]]:
    """Document rankings per query (best chunk decides, duplicates removed), retrieved in batches."""
    svc = kit.retrieval
    out: list[list[str]] = []
    with using(kit, variant.config):
        for start in range(0, len(queries), batch):
            part = list(queries[start : start + batch])
            if variant.rerank and svc.reranker is not None:
                hits = svc.search_batch(part, k=max(kit.config.reranker.depth, 10))
                ranked = [[h.chunk.chunk_id for h in row] for row in hits]
            else:
                ranked = [[f.id for f in row] for row in svc.ranked(part)]
            mapping = docs([cid for row in ranked for cid in row])
            out.extend(list(dict.fromkeys(mapping[c] for c in row if c in mapping)) for row in ranked)
            if progress:
                progress(variant.name, min(start + batch, len(queries)), len(queries))
    return out


def latency(
    kit: Kit, queries: Sequence[str], variant: Variant, k: int = 10, limit: int | None = None
) -> dict[str, float]:
    """Serial end-to-end ``search`` latency (one query at a time, hits with texts): p50/p95 in ms."""
    svc = kit.retrieval
    sample = list(queries[:limit] if limit else queries)
    times = []
    with using(kit, variant.config):
        reranker_name = kit.config.reranker.name
        if not variant.rerank:
            kit.config.reranker.name = "none"
        try:
            if sample:
                svc.search(sample[0] + " warm-up", k=k)
            encoder = svc.dense().encode
            for query in sample:
                encoder.forget(query)  # every timed query embeds its text: no cache hit
                t0 = time.perf_counter()
                svc.search(query, k=k)
                times.append((time.perf_counter() - t0) * 1000)
        finally:
            kit.config.reranker.name = reranker_name
    if not times:
        return {"query_ms_p50": 0.0, "query_ms_p95": 0.0}
    return {
        "query_ms_p50": round(float(np.percentile(times, 50)), 2),
        "query_ms_p95": round(float(np.percentile(times, 95)), 2),
    }


def round_metrics(values: Mapping[str, float], digits: int = 4) -> dict[str, Any]:
    return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in values.items()}
