"""How many labeled queries does the fusion tuner need? Tune on n random train queries, report test.

For n in --sizes, draw --draws random subsets of the train split, fit CC's weight and normalization on
each (``ragkit.retrieval.tune``), and evaluate the fitted configuration on the whole test split.
Candidates are retrieved once (lexical and dense, the store's depth); each fit is a cheap re-fusion.

    .venv/bin/python bench/tune_labels.py ../shared/data/scifact --store /tmp/scifact-store
"""
from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

ROOT = harness.ROOT


def main(argv: list[str] | None = None) -> int:
    import ragkit
    from ragkit.eval.beir import BeirDataset, index_corpus
    from ragkit.retrieval.tune import grid_search, ndcg_grid, prepare

    parser = harness.parser(__doc__)
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--store", type=Path, required=True, help="Store holding (or to hold) the corpus.")
    parser.add_argument("--train", default="train")
    parser.add_argument("--test", default="test")
    parser.add_argument("--sizes", default="5,10,25,50,100,all")
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    ds = BeirDataset(args.dataset)
    kit = ragkit.open(args.store)
    index_corpus(kit, list(ds.documents()))
    hybrid = kit.retrieval.hybrid()

    def prepared(split: str) -> list:
        queries, qrels = ds.split_queries(split)
        qids = list(queries)
        lists = []
        for i in range(0, len(qids), 64):
            lists.extend(hybrid.candidate_lists([queries[q] for q in qids[i : i + 64]]))
        chunk_ids = list({c for lex, den in lists for c, _ in [*lex, *den]})
        doc_of = {c.chunk_id: c.doc_id for c in kit.store.chunks(chunk_ids)}
        return [prepare(lex, den, qrels[q], doc_of) for (lex, den), q in zip(lists, qids)]

    t0 = time.perf_counter()
    train, test = prepared(args.train), prepared(args.test)
    print(f"candidates for {len(train)} train and {len(test)} test queries in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

    def test_ndcg(weight: float, normalization: str) -> float:
        return float(np.mean([ndcg_grid(p, normalization, np.array([weight]))[0] for p in test]))

    rng = random.Random(args.seed)
    rows = []
    untuned = test_ndcg(0.5, "minmax")
    untuned_z = test_ndcg(0.5, "zscore")
    for size in args.sizes.split(","):
        n = len(train) if size == "all" else int(size)
        draws = 1 if size == "all" else args.draws
        scores, weights = [], []
        for _ in range(draws):
            sample = train if size == "all" else rng.sample(train, n)
            fit = grid_search(sample)
            weights.append(fit.weight)
            scores.append(test_ndcg(fit.weight, fit.normalization))
        rows.append({
            "labeled_queries": n, "draws": draws,
            "test_ndcg@10_mean": round(float(np.mean(scores)), 4),
            "test_ndcg@10_min": round(float(np.min(scores)), 4),
            "test_ndcg@10_max": round(float(np.max(scores)), 4),
            "weight_mean": round(float(np.mean(weights)), 3),
            "weight_min": float(np.min(weights)), "weight_max": float(np.max(weights)),
        })
        harness.log(json.dumps(rows[-1]))
    best = max((test_ndcg(w, m), w, m) for w in np.linspace(0, 1, 21) for m in ("minmax", "zscore"))
    return harness.emit({
        "dataset": ds.path.name, "train": args.train, "test": args.test,
        "untuned_cc_0.5_minmax": round(untuned, 4),
        "untuned_cc_0.5_zscore (the tuner's prior)": round(untuned_z, 4),
        "oracle_on_test": {"ndcg@10": round(best[0], 4), "weight": round(float(best[1]), 2), "normalization": best[2]},
        "rows": rows,
    }, args)


if __name__ == "__main__":
    sys.exit(main())
