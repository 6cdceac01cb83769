"""PDF table extraction quality on ICDAR 2013 and tabula-java, through ``connectors.pdf.load``.

Usage: python bench/tables.py [--icdar DIR] [--tabula DIR] [--out CELLS.json]
Prints one JSON document: cell recall/precision/F1 per data set (see ``ragkit.eval.tables``).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "pdf_tables"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--icdar", type=Path, default=DATA / "icdar2013")
    parser.add_argument("--tabula", type=Path, default=DATA / "tabula_java")
    parser.add_argument("--out", type=Path, default=None, help="write ICDAR cells per page as JSON")
    args = parser.parse_args()
    os.environ.setdefault("RAGKIT_OCR_ENGINE", "none")  # table PDFs have text layers
    from ragkit.eval.tables import evaluate_icdar, evaluate_tabula

    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "icdar2013": evaluate_icdar(args.icdar, args.out),
        "tabula_java": evaluate_tabula(args.tabula),
    }
    print(json.dumps(result, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
