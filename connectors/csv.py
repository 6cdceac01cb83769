"""CSV/TSV connector: the whole file as one table block (dialect sniffed, header row detected)."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

from connectors.base import ConnectorError, DocumentBuilder, read_bytes
from connectors.text import decode_text
from ragkit.types import Document, Table

FORMAT = "csv"
SNIFF_BYTES = 64 * 1024
_YEAR = re.compile(r"^(1[89]|20)\d\d$")
_NUMBER = re.compile(r"^[-+(]?[$€£¥]?\s?[\d.,]*\d[\d.,]*\s?%?\)?$|^\d{4}-\d{2}-\d{2}")


def load(path: Path, source: str) -> Document:
    """Read a delimited text file into a Document with a single table block."""
    path = Path(path)
    data = read_bytes(path)
    text = decode_text(data, path)
    if not text.strip():
        raise ConnectorError(path, "empty file")
    dialect = _dialect(text[:SNIFF_BYTES], path)
    try:
        raw_rows = list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        raise ConnectorError(path, f"malformed CSV ({exc})") from exc
    rows = clean_rows(raw_rows)
    if not rows:
        raise ConnectorError(path, "no data rows")
    header_rows = guess_header_rows(rows)
    table = Table(table_id=f"{source}#t1", rows=rows, header_rows=header_rows)
    builder = DocumentBuilder()
    builder.add(table_text(rows), "table", table=table)
    metadata = {"rows": len(rows), "columns": len(rows[0]), "delimiter": dialect.delimiter}
    return builder.build(source=source, data=data, format=FORMAT, metadata=metadata)


def _dialect(sample: str, path: Path) -> type[csv.Dialect] | csv.Dialect:
    """The file's dialect from csv.Sniffer, restricted to common delimiters; TSV/CSV by name else."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        if path.suffix.lower() == ".tsv" or (sample.count("\t") > sample.count(",")):
            return csv.excel_tab
        return csv.excel


def clean_rows(rows: Sequence[Sequence[object]]) -> list[list[str]]:
    """Cells as single-line strings; empty rows and columns that are empty everywhere dropped."""
    text_rows = [[_cell(v) for v in row] for row in rows]
    text_rows = [row for row in text_rows if any(row)]
    if not text_rows:
        return []
    width = max(len(row) for row in text_rows)
    text_rows = [row + [""] * (width - len(row)) for row in text_rows]
    keep = [c for c in range(width) if any(row[c] for row in text_rows)]
    return [[row[c] for c in keep] for row in text_rows]


def _cell(value: object) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split())


def is_number(text: str) -> bool:
    return bool(_NUMBER.match(text.strip()))


def _is_year(text: str) -> bool:
    return bool(_YEAR.match(text.strip()))


def guess_header_rows(rows: list[list[str]]) -> int:
    """1 if the first row looks like column names, else 0.

    Evidence: first-row cells are text (or years, a common column name) and some column below
    is mostly numbers; or, for all-text tables, first-row cells are non-empty and distinct and
    not repeated below.
    """
    if len(rows) < 2:
        return 0
    first, body = rows[0], rows[1:]
    filled = [c for c in first if c]
    if not filled or any(is_number(c) and not _is_year(c) for c in filled):
        return 0
    for col, name in enumerate(first):
        values = [row[col] for row in body if row[col]]
        numbers = [v for v in values if is_number(v) and not (_is_year(name) and _is_year(v))]
        if name and values and len(numbers) >= 0.5 * len(values):
            if not _is_year(name) or not all(_is_year(v) for v in numbers):
                return 1
    if len(filled) == len(first) and len(set(filled)) == len(filled) and not any(map(_is_year, filled)):
        below = {c for row in body for c in row}
        if not below & set(filled):
            return 1
    return 0


def table_text(rows: list[list[str]]) -> str:
    """A table as indexed text: one line per row, cells separated by `` | `` (lines stripped)."""
    return "\n".join(" | ".join(row).strip() for row in rows)
