"""XLSX connector: one table block per non-empty worksheet (openpyxl, read-only, cached values)."""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from connectors.base import OLE2_MAGIC, ConnectorError, DocumentBuilder, read_bytes
from connectors.csv import clean_rows, guess_header_rows, table_text
from ragkit.types import Document, Table

FORMAT = "xlsx"


def load(path: Path, source: str) -> Document:
    """Read a workbook; each worksheet with data becomes a table block with its sheet name."""
    path = Path(path)
    data = read_bytes(path)
    try:
        from openpyxl import load_workbook
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise ConnectorError(path, "XLSX support needs openpyxl: pip install openpyxl") from exc
    if data[:8] == OLE2_MAGIC:
        raise ConnectorError(path, "encrypted or legacy (.xls) workbook: save it as .xlsx without a password")
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)  # the bytes hashed are the bytes parsed
    except Exception as exc:  # noqa: BLE001 - openpyxl raises assorted errors on broken files
        raise ConnectorError(path, f"corrupt or unreadable XLSX ({type(exc).__name__}: {exc})") from exc
    builder = DocumentBuilder()
    sheets = []
    try:
        for ws in wb.worksheets:
            rows = clean_rows([[_value(v) for v in row] for row in ws.iter_rows(values_only=True)])
            if not rows:
                continue
            sheets.append(ws.title)
            table = Table(table_id=f"{source}#{ws.title}", rows=rows, header_rows=guess_header_rows(rows),
                          sheet=ws.title)
            builder.add(table_text(rows), "table", table=table, heading_path=[ws.title])
    except Exception as exc:  # noqa: BLE001
        raise ConnectorError(path, f"corrupt or unreadable XLSX ({type(exc).__name__}: {exc})") from exc
    finally:
        wb.close()
    if not builder.blocks:
        raise ConnectorError(path, "workbook has no data")
    return builder.build(source=source, data=data, format=FORMAT, metadata={"sheets": sheets})


def _value(value: object) -> str:
    """A cell value as text: whole floats without ``.0``, dates without a midnight time."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)
