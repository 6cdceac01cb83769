"""DOCX connector: headings → heading blocks and heading paths, paragraphs, tables in order."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest


from tests.fixtures_docs import make_docx  # noqa: E402

from connectors import docx as docx_connector  # noqa: E402
from connectors.base import ConnectorError  # noqa: E402


def test_headings_paragraphs_and_table_in_order(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "report.docx", [
        ("h1", "Annual Report"),
        ("p", "This report covers the fiscal year."),
        ("h2", "Revenue"),
        ("p", "Revenue grew in every region."),
        ("table", [["Region", "2022", "2023"], ["North", "1,204", "1,350"], ["South", "987", "1,012"]]),
        ("h2", "Outlook"),
        ("p", "We expect moderate growth."),
    ])
    doc = docx_connector.load(path, "report.docx")
    assert doc.format == "docx"
    got = [(b.kind, doc.text[b.start:b.end], b.heading_path) for b in doc.blocks]
    assert got == [
        ("heading", "Annual Report", ["Annual Report"]),
        ("text", "This report covers the fiscal year.", ["Annual Report"]),
        ("heading", "Revenue", ["Annual Report", "Revenue"]),
        ("text", "Revenue grew in every region.", ["Annual Report", "Revenue"]),
        ("table", "Region | 2022 | 2023\nNorth | 1,204 | 1,350\nSouth | 987 | 1,012", ["Annual Report", "Revenue"]),
        ("heading", "Outlook", ["Annual Report", "Outlook"]),
        ("text", "We expect moderate growth.", ["Annual Report", "Outlook"]),
    ]
    table = doc.blocks[4].table
    assert table.rows[0] == ["Region", "2022", "2023"] and table.header_rows == 1
    assert table.table_id == "report.docx#t1"


def test_merged_cells_kept_once(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Merged header"
    table.cell(0, 2).text = "C"
    for i, v in enumerate(["a", "b", "c"]):
        table.cell(1, i).text = v
    path = tmp_path / "m.docx"
    document.save(path)
    rows = docx_connector.load(path, "m.docx").blocks[0].table.rows
    assert rows == [["Merged header", "", "C"], ["a", "b", "c"]]


def test_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.docx"
    bad.write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(ConnectorError, match="corrupt"):
        docx_connector.load(bad, "bad.docx")
    empty = make_docx(tmp_path / "empty.docx", [("p", "   ")])
    with pytest.raises(ConnectorError, match="no text"):
        docx_connector.load(empty, "empty.docx")
