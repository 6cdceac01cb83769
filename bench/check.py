"""How long `ragkit check` takes on a healthy store of the whole SciFact corpus (target: ≤ 10 s).

    .venv/bin/python bench/check.py [../shared/data/scifact] [--store /tmp/scifact-store] [--rounds 5] [--json out.json]

The store is built first when it does not hold the corpus (MiniLM, the default embedder; reused when
given). Each round runs the CLI as a user would, `ragkit check --json` in a fresh process, and the
library's deep and cheap checks in this process; medians are reported.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

ROOT = harness.ROOT
DATA = harness.data_path("scifact")


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__, data=DATA, positional_data=True, full_doc=True)
    parser.add_argument("--store", type=Path, default=Path("/tmp/ragkit-bench-scifact"))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    import ragkit
    from ragkit import integrity
    from ragkit.eval.beir import BeirDataset

    kit = ragkit.open(args.store)
    started = time.perf_counter()
    report = kit.add_documents(list(BeirDataset(args.data).documents()))
    build = time.perf_counter() - started
    harness.log(f"store {args.store}: {report.to_dict()} in {build:.0f} s")

    cli, deep, cheap = [], [], []
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "ragkit.cli.main", "check", "--store", str(args.store), "--json"],
                              capture_output=True, text=True, env=env)
        cli.append(time.perf_counter() - t0)
        result = json.loads(proc.stdout)
        assert proc.returncode == 0 and result["ok"], result
        t0 = time.perf_counter()
        assert integrity.check(kit.store).ok
        deep.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        assert integrity.check(kit.store, cheap=True).ok
        cheap.append(time.perf_counter() - t0)
    out = {
        "dataset": str(args.data),
        "chunks": result["checked"]["chunks"],
        "vectors_compared": result["checked"]["vectors_compared"],
        "rounds": args.rounds,
        "cli_check_seconds_median": round(statistics.median(cli), 2),
        "cli_check_seconds_max": round(max(cli), 2),
        "library_deep_check_seconds_median": round(statistics.median(deep), 2),
        "library_cheap_check_seconds_median": round(statistics.median(cheap), 2),
        "load_average": os.getloadavg()[0],
    }
    return harness.emit(out, args)


if __name__ == "__main__":
    sys.exit(main())
