"""Metrics agree with pytrec_eval (trec_eval) to 1e-6 on random graded runs."""
from __future__ import annotations

import random

import pytest

from ragkit.retrieval.metrics import evaluate, mrr_at_k, ndcg_at_k, recall_at_k

pytrec_eval = pytest.importorskip("pytrec_eval")


def _random_case(seed: int) -> tuple[dict[str, list[str]], dict[str, dict[str, int]]]:
    rng = random.Random(seed)
    docs = [f"d{i}" for i in range(300)]
    run, qrels = {}, {}
    for q in range(40):
        qid = f"q{q}"
        qrels[qid] = {d: rng.choice([0, 1, 1, 2, 3]) for d in rng.sample(docs, rng.randint(1, 15))}
        run[qid] = rng.sample(docs, rng.randint(1, 150))
    qrels["q0"] = {"d1": 2}
    run["q0"] = ["d1"] + [d for d in docs if d != "d1"][:120]
    return run, qrels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_pytrec_eval(seed: int) -> None:
    run, qrels = _random_case(seed)
    judged = {q: r for q, r in qrels.items() if any(v > 0 for v in r.values())}
    scored = {q: {d: float(len(ids) - i) for i, d in enumerate(ids)} for q, ids in run.items()}
    ref = pytrec_eval.RelevanceEvaluator(judged, {"ndcg_cut.10", "recall.100"}).evaluate(scored)
    top10 = {q: {d: float(10 - i) for i, d in enumerate(ids[:10])} for q, ids in run.items()}
    ref_rr = pytrec_eval.RelevanceEvaluator(judged, {"recip_rank"}).evaluate(top10)
    for q in judged:
        assert ndcg_at_k(run[q], qrels[q], 10) == pytest.approx(ref[q]["ndcg_cut_10"], abs=1e-6)
        assert recall_at_k(run[q], qrels[q], 100) == pytest.approx(ref[q]["recall_100"], abs=1e-6)
        assert mrr_at_k(run[q], qrels[q], 10) == pytest.approx(ref_rr[q]["recip_rank"], abs=1e-6)
    means = evaluate(run, qrels)
    assert means["queries"] == len(judged)
    assert means["ndcg@10"] == pytest.approx(sum(r["ndcg_cut_10"] for r in ref.values()) / len(judged), abs=1e-6)


def test_unjudged_and_missing_queries() -> None:
    qrels = {"a": {"x": 1}, "b": {"y": 0}, "c": {"z": 1}}
    means = evaluate({"a": ["x"]}, qrels)
    assert means["queries"] == 2  # "b" has no positive judgment; "c" has no run and scores 0
    assert means["ndcg@10"] == pytest.approx(0.5)
    assert means["mrr@10"] == pytest.approx(0.5)


def test_hand_computed_ndcg() -> None:
    # gains 0, 2, 1 at ranks 1..3; ideal 2, 1
    dcg = 2 / 1.584962500721156 + 1 / 2.0
    idcg = 2 / 1.0 + 1 / 1.584962500721156
    assert ndcg_at_k(["n", "a", "b"], {"a": 2, "b": 1}) == pytest.approx(dcg / idcg, abs=1e-12)
