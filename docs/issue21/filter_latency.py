"""Retrieval-only latency (query embeddings cached) of hybrid vs hybrid+filter, for the code on PYTHONPATH."""
import json, sys, time, statistics, os
from pathlib import Path
import ragkit
store = Path(sys.argv[1]); data = Path(sys.argv[2]); reps = int(sys.argv[3])
qs = [json.loads(l)["text"] for l in open(data / "queries.jsonl")][:200]
kit = ragkit.open(store)
tenth = {"source_prefix": "c00"}
runs = {"hybrid": lambda q: kit.search(q, k=10), "hybrid+filter": lambda q: kit.search(q, k=10, where=tenth),
        "filter-only-dense": lambda q: kit.search(q, k=10, mode="dense", where=tenth), "dense": lambda q: kit.search(q, k=10, mode="dense")}
for f in runs.values():
    for q in qs: f(q)  # caches every query embedding, warms the indexes
out = {}
for name, f in runs.items():
    ts = []
    for _ in range(reps):
        for q in qs:
            t0 = time.perf_counter(); f(q); ts.append((time.perf_counter() - t0) * 1000)
    out[name] = round(statistics.median(ts), 3)
print(json.dumps({"code": ragkit.__file__, **out}))
