"""auto (no labels) when one retriever is much weaker: SciFact with typo-degraded queries on one side.

Each retriever's candidates come from the store for clean and for typo'd queries (``rate`` of the words
of 4+ letters get one edit); the weak side sees the typo'd ones, the other the clean ones. Every mode
ranks the same candidate lists: lexical, dense, hybrid (CC z-score 0.5, the default), and auto (the
router: per-query lexical/dense balance from the two lists + graph), so only the fusion differs.

    python bench/graph_balance.py --store SCIFACT_STORE [--split train|test] [--rates 0.3,0.6,0.9] [--json OUT.json]

Tune on ``--split train`` (the router's dense floor was); report ``test``.
"""
from __future__ import annotations

import pickle
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

REPO = harness.ROOT
DATA = harness.SHARED_DATA / "scifact"


class FixedLists:
    """A stand-in for the hybrid retriever that returns precomputed (lexical, dense) lists."""

    def __init__(self, pairs: dict[str, tuple[list, list]], store: Any):
        self.pairs = pairs
        self.store = store

    def candidate_lists(self, queries, where=None, depth=None):
        return [self.pairs[q] for q in queries]


def main(argv: list[str] | None = None) -> int:
    from dataclasses import replace

    import ragkit
    from ragkit.eval.beir import BeirDataset
    from ragkit.retrieval.metrics import ndcg_at_k
    from ragkit.retrieval.hybrid import fuse_pair
    from ragkit.router import AutoRetriever
    from bench.retrieval import typo

    parser = harness.parser(__doc__, data=DATA)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--rates", default="0.3,0.6,0.9")
    parser.add_argument("--split", default="test")
    parser.add_argument("--cache", type=Path, help="a pickle of the candidate lists, written and reused")
    parser.add_argument("--no-graph", action="store_true", help="auto without its graph part (balance only)")
    args = parser.parse_args(argv)

    kit = ragkit.open(args.store)
    queries, qrels = BeirDataset(args.data).split_queries(args.split)
    qids = list(queries)
    clean = [queries[q] for q in qids]
    svc = kit.retrieval
    lex, den = svc.retriever("lexical"), svc.retriever("dense")
    depth = kit.config.retrieval.depth
    base = kit.config.retrieval
    # --cache: the candidate lists of every setting are saved (and reused by a later run with other router
    # settings): retrieving ~1,000 queries x 7 settings takes most of an hour on a loaded 2-core machine
    cache: dict[Any, Any] = {}
    if args.cache and args.cache.exists():
        cache = pickle.loads(args.cache.read_bytes())

    def lists(side: str, rate: float, texts: list[str]) -> list:
        key = (args.split, side, rate)
        if key not in cache:
            cache[key] = (lex if side == "lexical" else den).candidates(texts, depth)
        return cache[key]

    clean_lists = {"lexical": lists("lexical", 0.0, clean), "dense": lists("dense", 0.0, clean)}
    doc_of: dict[str, str] = {}

    def ndcg(ranked_lists: list[list[str]]) -> float:
        missing = [c for r in ranked_lists for c in r if c not in doc_of]
        if missing:
            doc_of.update({c.chunk_id: c.doc_id for c in kit.store.chunks(list(dict.fromkeys(missing)))})
        scores = [ndcg_at_k(list(dict.fromkeys(doc_of.get(c, c) for c in r)), qrels[q]) for r, q in zip(ranked_lists, qids)]
        return round(sum(scores) / len(scores), 4)

    def graph(who: Any = None) -> Any:  # the whole graph (this bench runs as the store's owner)
        return None if args.no_graph or not kit.graph.available() else kit.graph.index

    out: dict[str, Any] = {"split": args.split, "queries": len(qids), "graph": not args.no_graph}
    settings = [("clean", 0.0, None)] + [(f"typos {float(r):.0%} {side}", float(r), side)
                                         for r in args.rates.split(",") for side in ("lexical", "dense")]
    for label, rate, side in settings:
        rng = random.Random(0)
        noisy = [typo(t, rate, rng) for t in clean] if side else clean
        lx = lists("lexical", rate, noisy) if side == "lexical" else clean_lists["lexical"]
        dn = lists("dense", rate, noisy) if side == "dense" else clean_lists["dense"]
        texts = noisy if side == "lexical" else clean  # the graph links entities by their strings, like BM25
        pairs = {q: (a, b) for q, a, b in zip(texts, lx, dn)}
        fixed = replace(base)
        auto = AutoRetriever(FixedLists(pairs, kit.store), graph, svc.filters, lambda: fixed)
        fused_auto = auto.candidates(texts, depth)
        row = {
            "lexical": ndcg([[c for c, _ in r] for r in lx]),
            "dense": ndcg([[c for c, _ in r] for r in dn]),
            "hybrid": ndcg([[f.id for f in fuse_pair(a, b, base)] for a, b in zip(lx, dn)]),
            "auto": ndcg([[f.id for f in r] for r in fused_auto]),
            "auto_mean_dense_weight": round(sum(p.dense_weight for p in auto.last_plans) / len(auto.last_plans), 3),
        }
        out[label] = row
        print(label, row, file=sys.stderr, flush=True)
    if args.cache:
        args.cache.write_bytes(pickle.dumps(cache))
    kit.close()
    return harness.emit(out, args)


if __name__ == "__main__":
    sys.exit(main())
