"""Ingest on Ray vs in-process: wall time of `index` on the same folder, and whether the stores match.

Writes N SciFact abstracts (title + text) as .txt files, indexes the folder in-process and with
``executor="ray"`` (a local Ray with ``--cpus`` CPUs, started and shut down by this script, its start
counted) into two fresh stores, and reports both times, the chunk count, whether the chunk ids are
equal, and the largest difference between their vectors.

    python bench/ray_ingest.py [--data /work/shared/data/scifact] [--docs 300] [--cpus 2]
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

DEFAULT_DATA = harness.data_path("scifact")


def write_corpus(data: Path, out: Path, n: int) -> int:
    out.mkdir(parents=True)
    for doc in harness.read_jsonl(data / "corpus.jsonl.gz", n):
        (out / f"{doc['_id']}.txt").write_text(f"{doc.get('title', '')}\n\n{doc['text']}\n", encoding="utf-8")
    return n


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__, data=DEFAULT_DATA)
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--cpus", type=int, default=2)
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ragkit
    from ragkit.executors.ray import RayExecutor, RaySession

    work = Path(tempfile.mkdtemp(prefix="ragkit-ray-bench-"))
    try:
        n = write_corpus(args.data, work / "docs", args.docs)
        local = ragkit.open(work / "local")
        t0 = time.perf_counter()
        local.index(work / "docs")
        local_s = time.perf_counter() - t0

        remote = ragkit.open(work / "ray")
        t0 = time.perf_counter()
        with RayExecutor(embedder_config=remote.config.embedder, session=RaySession("ray", args.cpus)) as executor:
            remote.index(work / "docs", executor=executor)
        ray_s = time.perf_counter() - t0

        ids = sorted(local.store.all_chunk_ids())
        same_ids = ids == sorted(remote.store.all_chunk_ids())
        diff = float(np.abs(local.store.vectors.get_vectors(ids) - remote.store.vectors.get_vectors(ids)).max())
        report = {
            "docs": n, "chunks": len(ids), "cpus": args.cpus, "in_process_s": round(local_s, 1),
            "ray_s": round(ray_s, 1), "same_chunk_ids": same_ids, "max_vector_diff": diff,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return harness.emit(report, args, indent=None)


if __name__ == "__main__":
    sys.exit(main())
