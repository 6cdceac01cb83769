"""Table extraction quality: ICDAR 2013 and tabula-java expectations, through ``connectors.pdf.load``.

Metric (both sets): cell texts with all whitespace removed, empty cells ignored; per page, the
multiset of extracted table cells is matched against the multiset of expected cells; matches,
extracted and expected counts are summed over pages (micro-averaged):
``recall = matched / expected``, ``precision = matched / extracted``. For ICDAR only pages that
have ground truth are scored (``extracted_cells_other_pages`` counts what was found elsewhere).
Extraction reads whole PDFs exactly as indexing does and never looks at the ground truth.
"""
from __future__ import annotations

import collections
import csv
import json
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

_SPACE = re.compile(r"\s+")
_ALT_GT = re.compile(r"\db-str\.xml$")  # eu-009b, us-011b, ...: alternative ground truths

# tabula-java test settings (from its test suite; see the data set's SOURCE.md): pages to read
# (None = all) and the area tabula was given (top, left, bottom, right in PDF points), if any.
TABULA_SETTINGS: dict[str, tuple[list[int] | None, tuple[float, float, float, float] | None]] = {
    "argentina_diputados_voting_record": ([1], (269.875, 12.75, 790.5, 561)),
    "frx_2012_disclosure": ([1], (53, 49, 735, 550)),
    "schools": ([1], (53.74, 16.97, 548.74, 762.3)),
    "us-020": ([2], (103, 35, 641, 560)),
    "indictb1h_14": ([1], None),
    "twotables": ([1], None),
    "spanning_cells": ([1], None),
    "Publication_of_award_of_Bids_for_Transport_Sector__August_2016": ([1], None),
    "AnimalSounds": (None, None),
    "MultiColumn": (None, None),
    "spreadsheet_no_bounding_frame": (None, None),
}


def normalize_cell(text: str) -> str:
    """A cell's text with all whitespace removed (the comparison key)."""
    return _SPACE.sub("", text or "")


def _match(extracted: list[str], expected: list[str]) -> int:
    return sum((collections.Counter(extracted) & collections.Counter(expected)).values())


def _scores(matched: int, extracted: int, expected: int) -> dict[str, float]:
    recall = matched / expected if expected else 0.0
    precision = matched / extracted if extracted else 0.0
    f1 = 2 * recall * precision / (recall + precision) if recall + precision else 0.0
    return {"cell_recall": round(recall, 4), "cell_precision": round(precision, 4), "cell_f1": round(f1, 4)}


def _page_tables(pdf_path: Path, source: str) -> tuple[dict[int, list[dict[str, Any]]], str | None]:
    """Tables per page (1-based) found by the PDF connector: rows, bbox, method."""
    from connectors.base import ConnectorError
    from connectors.pdf import load

    try:
        doc = load(pdf_path, source)
    except ConnectorError as exc:
        return {}, exc.reason
    methods = doc.metadata.get("table_methods", {})
    pages: dict[int, list[dict[str, Any]]] = collections.defaultdict(list)
    for block in doc.blocks:
        if block.kind == "table" and block.table is not None:
            t = block.table
            pages[t.page or 0].append({"table_id": t.table_id, "rows": t.rows, "bbox": t.bbox,
                                       "method": methods.get(t.table_id, "")})
    return dict(pages), None


def _cells(tables: list[dict[str, Any]]) -> list[str]:
    return [c for t in tables for row in t["rows"] for c in map(normalize_cell, row) if c]


def read_icdar_ground_truth(str_xml: Path) -> dict[int, list[str]]:
    """Non-empty normalized cell texts per page (1-based) of one ``*-str.xml`` file."""
    pages: dict[int, list[str]] = collections.defaultdict(list)
    root = ET.parse(str_xml).getroot()
    for region in root.iter("region"):
        page = int(region.get("page", "0"))
        for cell in region.iter("cell"):
            text = normalize_cell(cell.findtext("content") or "")
            if text:
                pages[page].append(text)
    return dict(pages)


def evaluate_icdar(dir: Path, out: Path | None = None) -> dict[str, Any]:
    """Cell recall/precision of PDF table extraction on an ICDAR 2013 folder (``*-str.xml`` + PDFs).

    ``out``: write the extracted cells (and the ground truth counts) per page as JSON.
    """
    dir = Path(dir)
    started = time.perf_counter()
    gt_files = sorted(p for p in dir.rglob("*-str.xml") if not _ALT_GT.search(p.name))
    matched = extracted = expected = other = 0
    by_method: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    errors: dict[str, str] = {}
    dump: list[dict[str, Any]] = []
    pages_scored = 0
    for gt_file in gt_files:
        pdf_path = gt_file.with_name(gt_file.name[: -len("-str.xml")] + ".pdf")
        if not pdf_path.exists():
            errors[gt_file.name] = "PDF missing"
            continue
        truth = read_icdar_ground_truth(gt_file)
        tables, error = _page_tables(pdf_path, pdf_path.name)
        if error:
            errors[pdf_path.name] = error
        for page, page_tables in tables.items():
            if page not in truth:
                other += len(_cells(page_tables))
        for page, gt_cells in sorted(truth.items()):
            page_tables = tables.get(page, [])
            cells = _cells(page_tables)
            m = _match(cells, gt_cells)
            matched, extracted, expected = matched + m, extracted + len(cells), expected + len(gt_cells)
            pages_scored += 1
            for t in page_tables:
                t_cells = _cells([t])
                by_method[t["method"] or "unknown"][0] += len(t_cells)
                by_method[t["method"] or "unknown"][1] += _match(t_cells, gt_cells)
            if out is not None:
                dump.append({"pdf": pdf_path.name, "page": page, "gt_cells": len(gt_cells),
                             "matched": m, "tables": [{"table_id": t["table_id"], "method": t["method"],
                                                       "bbox": t["bbox"], "rows": t["rows"]}
                                                      for t in page_tables]})
    result: dict[str, Any] = {
        "dataset": "icdar2013",
        "documents": len(gt_files),
        "pages": pages_scored,
        "cells": expected,
        "extracted_cells": extracted,
        "matched_cells": matched,
        **_scores(matched, extracted, expected),
        "extracted_cells_other_pages": other,
        "per_method": {k: {"extracted_cells": v[0], "matched_cells": v[1]} for k, v in by_method.items()},
        "errors": errors,
        "seconds": round(time.perf_counter() - started, 2),
    }
    if out is not None:
        Path(out).write_text(json.dumps({"summary": result, "pages": dump}, ensure_ascii=False, indent=1))
    return result


def _read_expected_csv(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [c for row in csv.reader(fh) for c in map(normalize_cell, row) if c]


def _overlaps(bbox: tuple[float, float, float, float] | None,
              area: tuple[float, float, float, float]) -> bool:
    if bbox is None:
        return True
    top, left, bottom, right = area
    x0, y0, x1, y1 = bbox
    return x0 < right and x1 > left and y0 < bottom and y1 > top


def evaluate_tabula(dir: Path) -> dict[str, Any]:
    """Cell recall/precision/F1 on tabula-java's expected CSVs (``pdf/`` + ``expected_csv/``).

    Pages and areas follow tabula's own tests (``TABULA_SETTINGS``): extracted tables on those
    pages are kept when their box overlaps the area tabula was given.
    """
    dir = Path(dir)
    started = time.perf_counter()
    matched = extracted = expected = 0
    files: dict[str, dict[str, Any]] = {}
    for csv_path in sorted((dir / "expected_csv").glob("*.csv")):
        name = csv_path.stem
        pdf_path = dir / "pdf" / f"{name}.pdf"
        if not pdf_path.exists():
            continue
        pages, area = TABULA_SETTINGS.get(name, ([1], None))
        want = _read_expected_csv(csv_path)
        tables, error = _page_tables(pdf_path, pdf_path.name)
        chosen = [t for page, ts in tables.items() if pages is None or page in pages for t in ts
                  if area is None or _overlaps(t["bbox"], area)]
        got = _cells(chosen)
        m = _match(got, want)
        matched, extracted, expected = matched + m, extracted + len(got), expected + len(want)
        files[name] = {"cells": len(want), "extracted_cells": len(got), "matched_cells": m,
                       **_scores(m, len(got), len(want)), **({"error": error} if error else {})}
    return {
        "dataset": "tabula-java",
        "documents": len(files),
        "cells": expected,
        "extracted_cells": extracted,
        "matched_cells": matched,
        **_scores(matched, extracted, expected),
        "files": files,
        "seconds": round(time.perf_counter() - started, 2),
    }
