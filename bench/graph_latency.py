"""Serial query latency on a store: hybrid vs auto (end-to-end ``search``, k=10), and the part of auto
spent in graph retrieval (entity linking + PPR + hops + structure), p50 / p95 in ms.

    python bench/graph_latency.py --store SCIFACT_STORE [--queries 300] [--json OUT.json]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

REPO = harness.ROOT
DATA = harness.SHARED_DATA / "scifact"


def main(argv: list[str] | None = None) -> int:
    import ragkit
    from ragkit.eval.beir import BeirDataset
    from ragkit.router import plan

    parser = harness.parser(__doc__, data=DATA)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args(argv)
    kit = ragkit.open(args.store)
    queries, _ = BeirDataset(args.data).split_queries("test")
    texts = list(queries.values())[: args.queries]
    svc = kit.retrieval
    t0 = time.perf_counter()
    graph = kit.graph.index
    load = time.perf_counter() - t0
    for mode in ("hybrid", "auto"):
        svc.search(texts[0] + " warm-up", k=10, mode=mode)
    encoder = svc.retriever("dense").encode
    times: dict[str, list[float]] = {"hybrid": [], "auto": [], "auto_graph_part": [], "entity_linking": []}
    auto = svc.retriever("auto")
    for query in texts:  # alternate the modes query by query: the same machine load for both
        for mode in ("hybrid", "auto"):
            encoder.forget(query)
            started = time.perf_counter()
            svc.search(query, k=10, mode=mode)
            times[mode].append((time.perf_counter() - started) * 1000)
        times["auto_graph_part"].append(auto.last_plans[0].graph_ms)
        started = time.perf_counter()
        plan(query, graph)
        times["entity_linking"].append((time.perf_counter() - started) * 1000)
    report = {"store": str(args.store), "queries": len(texts), "graph_load_seconds": round(load, 2)}
    for name, values in times.items():
        report[name] = harness.percentiles_ms(values, 2)
    report["auto_over_hybrid_p50"] = round(report["auto"]["p50_ms"] / report["hybrid"]["p50_ms"], 2)
    kit.close()
    return harness.emit(report, args)


if __name__ == "__main__":
    sys.exit(main())
