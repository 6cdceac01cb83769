"""The fusion tuner: fit CC's weight (and normalization) on labeled queries by grid search on nDCG@10.

Works on per-query candidate lists (lexical and dense, chunk level) so every grid point is a cheap
re-fusion, never a new retrieval. Scoring is at document level: a document's fused score is its best
chunk's.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ragkit.config import RetrievalConfig
from ragkit.retrieval.fusion import NORMALIZATIONS, normalize

if TYPE_CHECKING:
    from ragkit.retrieval.hybrid import HybridRetriever

Ranked = Sequence[tuple[str, float]]
GRID = tuple(round(w, 2) for w in np.linspace(0.0, 1.0, 21))


@dataclass
class TuneResult:
    """The chosen weight and normalization, their nDCG@10, and the whole grid."""

    weight: float
    normalization: str
    ndcg: float
    queries: int
    baseline: float  # nDCG@10 of the configuration before tuning
    grid: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Prepared:
    """One query's candidates as arrays: normalized scores per normalization, document index, gains."""

    norm: dict[str, tuple[np.ndarray, np.ndarray]]  # normalization -> (lexical, dense) over the union
    doc_index: np.ndarray  # union position -> document position
    gains: np.ndarray  # relevance per document position
    idcg: float


def _idcg(rels: Mapping[str, int], k: int = 10) -> float:
    ideal = sorted((r for r in rels.values() if r > 0), reverse=True)[:k]
    return float(sum(r / np.log2(i + 2) for i, r in enumerate(ideal)))


def prepare(
    lexical: Ranked,
    dense: Ranked,
    rels: Mapping[str, int],
    doc_of: Mapping[str, str] | None = None,
    normalizations: Sequence[str] = NORMALIZATIONS,
) -> Prepared:
    """Arrays for one query; ``doc_of`` maps chunk ids to document ids (identity when None)."""
    union = list(dict.fromkeys([i for i, _ in lexical] + [i for i, _ in dense]))
    pos = {cid: n for n, cid in enumerate(union)}
    norm: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for method in normalizations:
        sides = []
        for ranked in (lexical, dense):
            values = normalize(np.array([s for _, s in ranked], dtype=np.float64), method)
            col = np.full(len(union), values.min() if values.size else 0.0)
            for (cid, _), v in zip(ranked, values):
                col[pos[cid]] = v
            sides.append(col)
        norm[method] = (sides[0], sides[1])
    docs = [doc_of.get(c, c) if doc_of else c for c in union]
    doc_pos = {d: n for n, d in enumerate(dict.fromkeys(docs))}
    doc_index = np.array([doc_pos[d] for d in docs], dtype=np.int64)
    gains = np.array([max(rels.get(d, 0), 0) for d in doc_pos], dtype=np.float64)
    return Prepared(norm, doc_index, gains, _idcg(rels))


def ndcg_grid(p: Prepared, normalization: str, weights: np.ndarray, k: int = 10) -> np.ndarray:
    """nDCG@k of one query at every dense weight in ``weights`` (document level, best chunk)."""
    if p.idcg == 0 or p.doc_index.size == 0:
        return np.zeros(len(weights))
    lex, den = p.norm[normalization]
    fused = lex[:, None] * (1.0 - weights[None, :]) + den[:, None] * weights[None, :]
    n_docs = int(p.doc_index.max()) + 1
    doc_scores = np.full((n_docs, len(weights)), -np.inf)
    np.maximum.at(doc_scores, p.doc_index, fused)
    kk = min(k, n_docs)
    top = np.argsort(-doc_scores, axis=0, kind="stable")[:kk]
    discounts = 1.0 / np.log2(np.arange(2, kk + 2))
    gains: np.ndarray = (p.gains[top] * discounts[:, None]).sum(axis=0) / p.idcg
    return gains


def grid_search(
    prepared: Sequence[Prepared],
    weights: Sequence[float] = GRID,
    normalizations: Sequence[str] = NORMALIZATIONS,
    prior: tuple[float, str] = (0.5, "zscore"),
    baseline: tuple[float, str] | None = None,
) -> TuneResult:
    """The (weight, normalization) to use, by mean nDCG@10 with the one-standard-error rule.

    Among all grid points whose mean nDCG@10 is within one standard error (of the per-query
    difference) of the best one, the point nearest ``prior`` wins: with a handful of labeled queries
    the fit stays at the prior unless the labels show a real gain.
    """
    w = np.asarray(weights, dtype=np.float64)
    points: list[tuple[float, str]] = [(float(x), m) for m in normalizations for x in w]
    if prepared:
        per_query = np.concatenate([np.stack([ndcg_grid(p, m, w) for p in prepared]) for m in normalizations], axis=1)
    else:
        per_query = np.zeros((1, len(points)))
    means = per_query.mean(axis=0)
    best = int(np.argmax(means))
    diffs = per_query[:, best : best + 1] - per_query
    n = per_query.shape[0]
    se = diffs.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(len(points), np.inf)
    close = [i for i in range(len(points)) if means[best] - means[i] <= se[i] + 1e-12]

    def distance(i: int) -> tuple[float, float]:
        weight, method = points[i]
        return (abs(weight - prior[0]) + (0.0 if method == prior[1] else 0.25), -means[i])

    chosen = min(close, key=distance)
    grid = [{"weight": p[0], "normalization": p[1], "ndcg@10": float(v)} for p, v in zip(points, means)]
    base_point = baseline or prior
    base = next((float(means[i]) for i, p in enumerate(points) if p == (float(base_point[0]), base_point[1])), 0.0)
    return TuneResult(points[chosen][0], points[chosen][1], float(means[chosen]), len(prepared), base, grid)


def tune_candidates(
    candidates: Sequence[tuple[Ranked, Ranked]],
    qrels: Sequence[Mapping[str, int]],
    doc_of: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> TuneResult:
    """Grid search from per-query (lexical, dense) candidate lists and their judgments."""
    prepared = [prepare(lex, den, rels, doc_of) for (lex, den), rels in zip(candidates, qrels)]
    return grid_search(prepared, **kwargs)


def tune_queries(
    hybrid: HybridRetriever,
    config: RetrievalConfig,
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    save: Callable[[], None] | None = None,
    batch: int = 64,
) -> TuneResult:
    """Fit the store's hybrid fusion on labeled queries (qrels name the store's document ids).

    With ``save`` (which writes the store's config) ``config`` gets ``fusion = "cc"`` and the fitted
    weight and normalization. ``baseline`` is the nDCG@10 of the configuration before tuning on the
    same queries.
    """
    from ragkit.retrieval.hybrid import fuse_pair
    from ragkit.retrieval.metrics import ndcg_at_k

    qids = [q for q in queries if any(r > 0 for r in qrels.get(q, {}).values())]
    if not qids:
        raise ValueError("no labeled query with a positive judgment to tune on")
    lists: list[tuple[Ranked, Ranked]] = []
    for start in range(0, len(qids), batch):
        lists.extend(hybrid.candidate_lists([queries[q] for q in qids[start : start + batch]]))
    chunk_ids = list({cid for lex, den in lists for cid, _ in [*lex, *den]})
    doc_of = {c.chunk_id: c.doc_id for c in hybrid.store.chunks(chunk_ids)}
    prior = (config.weight, config.normalization) if config.fusion == "cc" else (0.5, "zscore")
    result = tune_candidates(lists, [qrels[q] for q in qids], doc_of, prior=prior)
    baseline = []
    for (lex, den), q in zip(lists, qids):
        ranked = list(dict.fromkeys(doc_of.get(f.id, f.id) for f in fuse_pair(list(lex), list(den), config)))
        baseline.append(ndcg_at_k(ranked, qrels[q], 10))
    result.baseline = float(np.mean(baseline))
    if save is not None:
        config.fusion = "cc"
        config.weight = result.weight
        config.normalization = result.normalization
        save()
    return result
