"""Ranking metrics at document level, with pytrec_eval's (trec_eval's) definitions.

A run maps each query id to its ranked document ids (best first, no duplicates); qrels map each query id
to ``{doc_id: relevance}``. Queries with no positive judgment are left out of every mean; a query with
no retrieved documents scores 0.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

Run = Mapping[str, Sequence[str]]
Qrels = Mapping[str, Mapping[str, int]]


def ndcg_at_k(ranked: Sequence[str], rels: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k with linear gain ``rel / log2(rank + 1)``: pytrec_eval's ``ndcg_cut_k``."""
    dcg = sum(max(rels.get(d, 0), 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((r for r in rels.values() if r > 0), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranked: Sequence[str], rels: Mapping[str, int], k: int = 100) -> float:
    """Share of the relevant documents (relevance > 0) found in the top k: pytrec_eval's ``recall_k``."""
    relevant = {d for d, r in rels.items() if r > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def mrr_at_k(ranked: Sequence[str], rels: Mapping[str, int], k: int = 10) -> float:
    """Reciprocal rank of the first relevant document within the top k, else 0."""
    for i, d in enumerate(ranked[:k]):
        if rels.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


METRICS = {
    "ndcg@10": lambda ranked, rels: ndcg_at_k(ranked, rels, 10),
    "recall@100": lambda ranked, rels: recall_at_k(ranked, rels, 100),
    "mrr@10": lambda ranked, rels: mrr_at_k(ranked, rels, 10),
}


def judged_queries(qrels: Qrels) -> list[str]:
    """Query ids with at least one positive judgment (those every mean is taken over)."""
    return [q for q, rels in qrels.items() if any(r > 0 for r in rels.values())]


def per_query(run: Run, qrels: Qrels, metrics: Iterable[str] = METRICS) -> dict[str, dict[str, float]]:
    """``{query_id: {metric: value}}`` for each judged query (missing runs score 0)."""
    names = list(metrics)
    return {
        q: {m: METRICS[m](list(run.get(q, ())), qrels[q]) for m in names} for q in judged_queries(qrels)
    }


def evaluate(run: Run, qrels: Qrels, metrics: Iterable[str] = METRICS) -> dict[str, float]:
    """Mean of each metric over the judged queries, plus ``queries`` (their count)."""
    names = list(metrics)
    rows = per_query(run, qrels, names)
    n = len(rows)
    out: dict[str, float] = {m: (sum(r[m] for r in rows.values()) / n if n else 0.0) for m in names}
    out["queries"] = n
    return out


def recall_share(ranked: Sequence[str], gold: Iterable[str], k: int) -> float:
    """Share of ``gold`` items in the top k (HippoRAG's multi-hop recall@k for one question)."""
    gold = set(gold)
    return len(gold.intersection(ranked[:k])) / len(gold) if gold else 0.0


def dedupe(ids: Iterable[str]) -> list[str]:
    """Ids in first-seen order without repeats (document ids from best-chunk-first hits)."""
    return list(dict.fromkeys(ids))
