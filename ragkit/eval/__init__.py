"""Evaluation harnesses: BEIR datasets (nDCG@10, recall@100, MRR@10, latency) and multi-hop QA files
(supporting-paragraph recall@k), plus the metrics they share."""
from __future__ import annotations

from ragkit.retrieval.metrics import evaluate, mrr_at_k, ndcg_at_k, recall_at_k

__all__ = ["evaluate", "ndcg_at_k", "recall_at_k", "mrr_at_k"]
