"""Index a folder of real PDFs (default: ../shared/data/pdf_corpus/pdf) and report what happened to
each file: indexed (with chunks) or failed (with the reason). Nothing may abort the run.

    python bench/pdf_corpus.py [FOLDER] [--store DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO.parent / "shared" / "data" / "pdf_corpus" / "pdf"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--store", type=Path, default=None)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    import ragkit

    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or Path(tmp) / "store"
        kit = ragkit.open(store)
        files = sorted(p for p in args.folder.rglob("*") if p.is_file())
        started = time.perf_counter()
        report = kit.index([args.folder])
        seconds = time.perf_counter() - started
        per_doc = {Path(d["source"]).name: d["chunks"] for d in kit.documents()}
        result = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "folder": str(args.folder),
            "files": len(files),
            "indexed": len(per_doc),
            "failed": len(report.failed),
            "chunks": report.chunks,
            "seconds": round(seconds, 1),
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "accounted_for": len(per_doc) + len(report.failed) == len(files),
            "failures": [{"file": Path(f["path"]).name, "error": f["error"].split(": ", 1)[-1]} for f in report.failed],
            "chunks_per_file": per_doc,
        }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
