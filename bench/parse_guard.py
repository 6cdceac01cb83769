"""Cost of parsing in the guard's worker process instead of in-process: worker start-up, and the
per-file overhead (pickling the Document back, the round trip) on small and large files.

    python bench/parse_guard.py [--rounds 5] [--pdf ../shared/data/pdf_corpus/pdf/SOME.pdf]

Files: generated seeds of every format (tests/fuzz/seeds.py) and, when given or present, one real PDF.
Each file is parsed ``--rounds`` times both ways, alternating; the median per file is reported.
"""
from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

REPO = harness.ROOT
REAL_PDF = harness.data_path("pdf_corpus") / "pdf" / "pypdf-004-pdflatex-4-pages.pdf"


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__, full_doc=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pdf", type=Path, default=REAL_PDF)
    args = parser.parse_args(argv)
    from connectors.guard import ParseGuard, parse_file, warm_up
    from ragkit.types import ConnectorOptions
    from tests.fuzz.seeds import write_seeds

    options = ConnectorOptions(ocr_engine="none")
    with tempfile.TemporaryDirectory() as tmp:
        files = [p for paths in write_seeds(Path(tmp)).values() for p in paths]
        if args.pdf.exists():
            files.append(args.pdf)
        guard = ParseGuard(options)
        startup = warm_up(guard)
        for path in files:  # imports and caches warm on both sides
            parse_file(str(path), None, options)
            guard.load(path)
        rows = []
        for path in files:
            direct, guarded = [], []
            for _ in range(args.rounds):
                t = time.perf_counter()
                doc = parse_file(str(path), None, options)
                direct.append(time.perf_counter() - t)
                t = time.perf_counter()
                guard.load(path)
                guarded.append(time.perf_counter() - t)
            d, g = statistics.median(direct), statistics.median(guarded)
            rows.append({"file": path.name, "bytes": path.stat().st_size, "chars": len(doc.text),
                         "in_process_ms": round(d * 1000, 2), "guarded_ms": round(g * 1000, 2),
                         "overhead_ms": round((g - d) * 1000, 2)})
        guard.close()
    return harness.emit({
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "worker_startup_s": round(startup, 2),
        "median_overhead_ms": round(statistics.median(r["overhead_ms"] for r in rows), 2),
        "files": rows,
    }, args)


if __name__ == "__main__":
    sys.exit(main())
