"""Concurrency bench: one process indexes in rounds while reader processes search and ask in a loop.

The writer re-indexes a folder (a new marker file, a deleted one and two edited files per round) and
records each committed generation's chunk ids; each reader keeps one Kit open and searches (lexical,
dense, hybrid, auto) and asks for the whole run. Every result must come from one committed generation
(all hits report the same generation, and every hit and citation is a chunk of it), dense and hybrid
marker queries must find the marker a generation holds (a stale vector view misses it), and no call may
fail. The process logic and the check are ``tests.harness.concurrency`` (the test runs it shorter).

    python bench/concurrency.py [--seconds 60] [--readers 4] [--work DIR]

Prints one JSON document (the check's counts, calls per operation, latency percentiles); exit status 1
when the check fails. Uses the hashing embedder: the subject is the store's read/write protocol.
"""
from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

REPO = harness.ROOT


def main(argv: list[str] | None = None) -> int:
    from tests.harness.concurrency import read_jsonl, run

    parser = harness.parser(__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--work", help="folder for the corpus, the store and the logs (default: a temp folder)")
    args = parser.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="ragkit-concurrency-"))
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    report = run(work, args.seconds, args.readers, sys.executable, env, REPO)
    results = [r for i in range(args.readers) for r in read_jsonl(work / f"reader{i}.jsonl")]
    latency = {}
    for op in sorted({r["op"] if r["op"] == "ask" else f"search:{r['mode']}" for r in results}):
        times = sorted(r["seconds"] for r in results if (r["op"] if r["op"] == "ask" else f"search:{r['mode']}") == op)
        latency[op] = {"p50_ms": round(1000 * statistics.median(times), 1),
                       "p95_ms": round(1000 * times[int(0.95 * (len(times) - 1))], 1)}
    report.update(seconds=args.seconds, readers=args.readers, work=str(work), latency=latency,
                  machine=f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}")
    return harness.emit(report, args, indent=1, status=0 if report["ok"] else 1)


if __name__ == "__main__":
    sys.exit(main())
