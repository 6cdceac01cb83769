"""DOCX connector (python-docx): headings, paragraphs and tables as blocks, in document order."""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

from connectors.base import OLE2_MAGIC, ConnectorError, DocumentBuilder, read_bytes
from connectors.csv import clean_rows, guess_header_rows, table_text
from ragkit.types import Document, Table

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.table import Table as DocxTable
    from docx.text.paragraph import Paragraph

FORMAT = "docx"
_HEADING = re.compile(r"^heading\s*(\d+)$", re.IGNORECASE)


def load(path: Path, source: str) -> Document:
    """Read a Word document; headings set ``heading_path`` for the blocks that follow them."""
    path = Path(path)
    data = read_bytes(path)
    try:
        import docx
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise ConnectorError(path, "DOCX support needs python-docx: pip install python-docx") from exc
    if data[:8] == OLE2_MAGIC:
        raise ConnectorError(path, "encrypted or legacy (.doc) document: save it as .docx without a password")
    try:
        document = docx.Document(io.BytesIO(data))  # the bytes hashed are the bytes parsed
    except Exception as exc:  # noqa: BLE001 - python-docx raises assorted errors on broken files
        raise ConnectorError(path, f"corrupt or unreadable DOCX ({type(exc).__name__}: {exc})") from exc

    try:
        builder, n_tables = _blocks(document, source)
    except Exception as exc:  # noqa: BLE001 - python-docx parses parts lazily: a broken part fails here
        raise ConnectorError(path, f"corrupt or unreadable DOCX ({type(exc).__name__}: {exc})") from exc
    if not builder.blocks:
        raise ConnectorError(path, "no text found in DOCX")
    metadata: dict[str, object] = {"tables": n_tables}
    with contextlib.suppress(Exception):  # a broken docProps/core.xml loses the title, not the document
        title = (document.core_properties.title or "").strip()
        if title:
            metadata["title"] = title
    return builder.build(source=source, data=data, format=FORMAT, metadata=metadata)


def _blocks(document: DocxDocument, source: str) -> tuple[DocumentBuilder, int]:
    """Heading, text and table blocks of the document body, in order; and the number of tables."""
    from docx.table import Table as DocxTable

    builder = DocumentBuilder()
    stack: list[tuple[int, str]] = []  # (level, heading text)
    n_tables = 0
    for item in document.iter_inner_content():
        path_now = [text for _, text in stack]
        if isinstance(item, DocxTable):
            rows = clean_rows(_table_rows(item))
            if not rows:
                continue
            n_tables += 1
            table = Table(table_id=f"{source}#t{n_tables}", rows=rows,
                          header_rows=_header_rows(item, rows))
            builder.add(table_text(rows), "table", table=table, heading_path=path_now)
            continue
        text = " ".join(item.text.split())
        if not text:
            continue
        level = _heading_level(item)
        if level is None:
            builder.add(text, "text", heading_path=path_now)
            continue
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, text))
        builder.add(text, "heading", heading_path=[t for _, t in stack])
    return builder, n_tables


def _heading_level(paragraph: Paragraph) -> int | None:
    """1-9 for "Heading N" styles, 0 for "Title", else the paragraph's outline level, else None."""
    style = getattr(paragraph, "style", None)
    name = (getattr(style, "name", "") or "").strip()
    if name.lower() == "title":
        return 0
    m = _HEADING.match(name)
    if m:
        return int(m.group(1))
    # direct formatting: <w:outlineLvl w:val="N"/> (0-based) marks a heading without its style
    ppr = paragraph._p.pPr
    if ppr is not None:
        for el in ppr.iterchildren():
            if el.tag.endswith("}outlineLvl"):
                val = el.get(el.tag.split("}")[0] + "}val")
                if val is not None and val.isdigit() and int(val) < 9:
                    return int(val) + 1
    return None


def _table_rows(table: DocxTable) -> list[list[str]]:
    """Cell texts per row; a cell merged across columns or rows is kept once (top-left)."""
    rows: list[list[str]] = []
    above: list[object] = []
    for row in table.rows:
        cells, ids, last = [], [], None
        for i, cell in enumerate(row.cells):
            tc = cell._tc
            ids.append(tc)
            if tc is last or (i < len(above) and above[i] is tc):
                cells.append("")
            else:
                cells.append(cell.text)
            last = tc
        rows.append(cells)
        above = ids
    return rows


def _header_rows(table: DocxTable, rows: list[list[str]]) -> int:
    """Rows marked "repeat as header row" in Word, else the usual first-row guess."""
    marked = 0
    for row in table.rows:
        trpr = row._tr.trPr
        if trpr is not None and any(el.tag.endswith("}tblHeader") for el in trpr.iterchildren()):
            marked += 1
        else:
            break
    return marked or guess_header_rows(rows)
