"""Soak bench: run test files N times in a row while busy processes load every core.

Issue 20: `tests/test_integrity.py` failed under load only (a repaired store's hybrid scores differed from
the pristine copy's). This starts ``--busy`` processes that spin (``while True: pass``, one per core by
default), runs ``pytest`` on ``--tests`` ``--runs`` times, one run after another, stops the busy
processes (also on Ctrl-C, SIGTERM or an error) and prints one JSON document: runs, passes, failures
(with the failed test ids), seconds per run, the machine's cores and load. Progress on stderr.

    python bench/soak_tests.py [--runs 20] [--busy 2] [--tests tests/test_integrity.py tests/test_durability.py]
                               [--timeout 1800] [--stop-on-failure]

Exit status 0 when every run passed, 1 otherwise.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

REPO = harness.ROOT
DEFAULT_TESTS = ["tests/test_integrity.py", "tests/test_durability.py"]
ENV = {"HF_HUB_OFFLINE": "1", "ORT_DISABLE_TELEMETRY": "1", "OMP_WAIT_POLICY": "PASSIVE"}


def start_busy(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def stop_busy(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
    for proc in procs:
        proc.wait()


def run_once(tests: list[str], timeout: float) -> dict:
    started = time.monotonic()
    env = dict(os.environ, **ENV)
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=timeout)
        out, code = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        out, code = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or ""), -1
        out += f"\nTIMEOUT after {timeout} s"
    lines = [line for line in out.splitlines() if line.strip()]
    summary = next((line for line in reversed(lines) if re.search(r"\b(passed|failed|error)", line)), lines[-1] if lines else "")
    failed = sorted({m.group(1) for m in re.finditer(r"^(?:FAILED|ERROR) (\S+)", out, re.M)})
    return {"ok": code == 0, "rc": code, "seconds": round(time.monotonic() - started, 1), "summary": summary.strip("= "),
            "failed": failed, "tail": "" if code == 0 else "\n".join(lines[-40:])}


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 2, help="spinning processes (default: one per core)")
    parser.add_argument("--tests", nargs="+", default=DEFAULT_TESTS)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    parser.add_argument("--stop-on-failure", action="store_true")
    args = parser.parse_args(argv)

    # SIGTERM (e.g. `timeout`) must reach the finally below, which stops the busy processes
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    busy = start_busy(args.busy)
    results: list[dict] = []
    started = time.monotonic()
    try:
        for i in range(1, args.runs + 1):
            result = run_once(args.tests, args.timeout)
            results.append(result)
            harness.log(f"run {i}/{args.runs}: {'pass' if result['ok'] else 'FAIL'} {result['seconds']} s {result['summary']}"
                        f"{' ' + ' '.join(result['failed']) if result['failed'] else ''} (load {os.getloadavg()[0]:.1f})")
            if not result["ok"] and args.stop_on_failure:
                break
    finally:
        stop_busy(busy)
    failures = [{"run": i, **{k: r[k] for k in ("rc", "summary", "failed", "tail")}}
                for i, r in enumerate(results, 1) if not r["ok"]]
    seconds = [r["seconds"] for r in results]
    return harness.emit({
        "tests": args.tests, "runs": len(results), "requested_runs": args.runs, "passed": len(results) - len(failures),
        "failed": len(failures), "busy_processes": args.busy, "cpus": os.cpu_count(),
        "seconds_per_run": {"min": min(seconds, default=0), "max": max(seconds, default=0),
                            "mean": round(sum(seconds) / len(seconds), 1) if seconds else 0},
        "total_seconds": round(time.monotonic() - started, 1), "load_avg_end": [round(x, 2) for x in os.getloadavg()],
        "failures": failures,
    }, args, status=0 if results and not failures else 1)


if __name__ == "__main__":
    sys.exit(main())
