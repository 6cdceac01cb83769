"""Index every file of the public PDF folders (default: ../shared/data/pdf_corpus and
../shared/data/pdf_tables, ground-truth files included) with the ingest limits and the per-file parse
timeout in force, and account for each file: indexed (with chunks) or failed (with its reason).
Nothing may hang or abort the run.

    python bench/pdf_corpus.py [FOLDER ...] [--timeout S] [--embedder minilm|hash] [--store DIR]

One fresh store per folder. Prints one JSON report: per folder the files, indexed, failed grouped by
reason, timed out, chunks, seconds and peak memory (this process; parsing runs in worker processes).
"""
from __future__ import annotations

import json
import os
import platform
import re
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

REPO = harness.ROOT
DATA = harness.SHARED_DATA
DEFAULT = [DATA / "pdf_corpus", DATA / "pdf_tables"]


def reason_kind(error: str) -> str:
    """The reason without its details: ``encrypted PDF (password required)``, ``parsing took longer
    than 60 s``, ``file size (MB) over the limit``..."""
    reason = error.split(": ", 1)[-1]
    if "(limits." in reason:
        return re.sub(r" [\d,.]+ is over the limit of [\d,.]+", " over the limit", reason)
    return re.sub(r"\s*\((?!password)[^)]*\)", "", reason).split(";")[0].strip()


def run_folder(folder: Path, store: Path, timeout: float, embedder: str) -> dict:
    import ragkit
    from ragkit.config import Config

    config = Config()
    config.set("embedder.name", embedder)
    config.set("limits.parse_timeout", timeout)
    kit = ragkit.open(store, config)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    started = time.perf_counter()
    report = kit.index([folder])
    seconds = time.perf_counter() - started
    docs = {d["source"]: d["chunks"] for d in kit.documents()}
    failed = {f["path"]: f["error"] for f in report.failed}
    kit.close()
    accounted = {str(p.resolve()) for p in files} == set(docs) | set(failed) and not (set(docs) & set(failed))
    return {
        "folder": str(folder),
        "files": len(files),
        "indexed": len(docs),
        "failed": len(failed),
        "timed_out": sum("limits.parse_timeout" in e for e in failed.values()),
        "failed_by_reason": dict(Counter(reason_kind(e) for e in failed.values()).most_common()),
        "chunks": report.chunks,
        "seconds": round(seconds, 1),
        "every_file_accounted_for": accounted,
        "formats": dict(Counter(p.suffix.lower() or "(none)" for p in files).most_common()),
        "failures": {str(Path(p).relative_to(folder)): e.split(": ", 1)[-1] for p, e in sorted(failed.items())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__, full_doc=True)
    parser.add_argument("folders", nargs="*", type=Path, default=DEFAULT)
    parser.add_argument("--timeout", type=float, default=60.0, help="limits.parse_timeout (seconds per file)")
    parser.add_argument("--embedder", default="minilm", help="minilm (default) or hash (parsing and indexing only)")
    parser.add_argument("--store", type=Path, default=None, help="parent folder of the stores (default: a temp dir)")
    args = parser.parse_args(argv)
    results = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.store or Path(tmp)
        for i, folder in enumerate(args.folders):
            results.append(run_folder(folder, base / f"store-{i}", args.timeout, args.embedder))
            harness.log(json.dumps({k: v for k, v in results[-1].items() if k != "failures"}))
    return harness.emit({
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "embedder": args.embedder,
        "parse_timeout": args.timeout,
        "seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb_indexer": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_rss_mb_workers": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "folders": results,
    }, args)


if __name__ == "__main__":
    sys.exit(main())
