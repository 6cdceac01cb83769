"""PDF table extraction quality on ICDAR 2013 and tabula-java, through ``connectors.pdf.load``.

Usage: python bench/tables.py [--icdar DIR] [--tabula DIR] [--out CELLS.json]
Prints one JSON document: cell recall/precision/F1 per data set (see ``ragkit.eval.tables``).
"""
from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

REPO = harness.ROOT
DATA = harness.SHARED_DATA / "pdf_tables"


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__)
    parser.add_argument("--icdar", type=Path, default=DATA / "icdar2013")
    parser.add_argument("--tabula", type=Path, default=DATA / "tabula_java")
    parser.add_argument("--out", type=Path, default=None, help="write ICDAR cells per page as JSON")
    args = parser.parse_args(argv)
    os.environ.setdefault("RAGKIT_OCR_ENGINE", "none")  # table PDFs have text layers
    from ragkit.eval.tables import evaluate_icdar, evaluate_tabula

    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "icdar2013": evaluate_icdar(args.icdar, args.out),
        "tabula_java": evaluate_tabula(args.tabula),
    }
    return harness.emit(result, args, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    sys.exit(main())
