"""How long `ragkit check` takes on a healthy store of the whole SciFact corpus (target: ≤ 10 s).

    .venv/bin/python bench/check.py [../shared/data/scifact] [--store /tmp/scifact-store] [--rounds 5] [--json out.json]

The store is built first when it does not hold the corpus (MiniLM, the default embedder; reused when
given). Each round runs the CLI as a user would, `ragkit check --json` in a fresh process, and the
library's deep and cheap checks in this process; medians are reported.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from report import emit_report  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "scifact"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", nargs="?", type=Path, default=DATA)
    parser.add_argument("--store", type=Path, default=Path("/tmp/ragkit-bench-scifact"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import ragkit
    from ragkit import integrity
    from ragkit.eval.beir import BeirDataset

    kit = ragkit.open(args.store)
    started = time.perf_counter()
    report = kit.add_documents(list(BeirDataset(args.dataset).documents()))
    build = time.perf_counter() - started
    print(f"store {args.store}: {report.to_dict()} in {build:.0f} s", file=sys.stderr)

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
        "dataset": str(args.dataset),
        "chunks": result["checked"]["chunks"],
        "vectors_compared": result["checked"]["vectors_compared"],
        "rounds": args.rounds,
        "cli_check_seconds_median": round(statistics.median(cli), 2),
        "cli_check_seconds_max": round(max(cli), 2),
        "library_deep_check_seconds_median": round(statistics.median(deep), 2),
        "library_cheap_check_seconds_median": round(statistics.median(cheap), 2),
        "load_average": os.getloadavg()[0],
    }
    emit_report(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
