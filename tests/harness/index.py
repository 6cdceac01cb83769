"""Index a folder through the SDK in this process, logging each write phase as it starts.

``--log FILE`` appends ``PHASE MONOTONIC_SECONDS`` lines (flushed at once, so a parent reading the file
knows when each phase began); ``--kill-at PHASE[:N]`` SIGKILLs this process the N-th time (default 1st)
PHASE starts. The fault injection lives here, in the tests, not in ragkit.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path


def command(store: Path, docs: Path, log: Path, kill_at: str = "") -> list[str]:
    """The command line that runs this harness on ``docs`` into ``store``, logging phases to ``log``."""
    cmd = [sys.executable, "-m", "tests.harness.index", str(store), str(docs), "--log", str(log)]
    return cmd + (["--kill-at", kill_at] if kill_at else [])


def read_log(log: Path) -> list[tuple[str, float]]:
    """(phase, monotonic start) pairs of a ``--log`` file, in order ([] when it is not there yet)."""
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        name, _, stamp = line.partition(" ")
        if stamp:
            out.append((name, float(stamp)))
    return out


def phase_at(log: Path, moment: float) -> str:
    """The phase running at ``moment`` (the last one started before it), 'done', or 'start' (before the
    first phase: opening the store, the cheap repair, walking the folder)."""
    current = "start"
    for name, stamp in read_log(log):
        if stamp <= moment:
            current = name
    return current


def committed_state(store_path: Path) -> dict[str, str]:
    """doc id -> content hash of every document the store at ``store_path`` has committed."""
    from ragkit.store import Store

    store = Store(store_path)
    try:
        return {d["doc_id"]: d["content_hash"] for d in store.documents()}
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("store")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--log")
    parser.add_argument("--kill-at", default="")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    target, _, nth = args.kill_at.partition(":")
    wanted = int(nth or 1)
    seen: dict[str, int] = {}
    log = open(args.log, "a", buffering=1) if args.log else None

    def on_phase(name: str) -> None:
        seen[name] = seen.get(name, 0) + 1
        if log is not None:
            log.write(f"{name} {time.monotonic():.6f}\n")
            log.flush()
        if name == target and seen[name] == wanted:
            os.kill(os.getpid(), signal.SIGKILL)

    import ragkit

    kit = ragkit.open(args.store)
    report = kit.index(args.paths, rebuild=args.rebuild, on_phase=on_phase)
    if log is not None:
        log.write(f"done {time.monotonic():.6f}\n")
    json.dump(report.to_dict(), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
