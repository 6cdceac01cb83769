"""XLSX connector: one table per sheet with its name; empty rows/columns skipped; errors."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest


from tests.fixtures_docs import make_xlsx  # noqa: E402

from connectors import xlsx  # noqa: E402
from connectors.base import ConnectorError  # noqa: E402


def test_two_sheets(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "book.xlsx", {
        "Sales": [["Region", None, "Units", "Revenue"], [None, None, None, None],
                  ["North", None, 120, 1520.5], ["South", None, 80, 990.0]],
        "Empty": [],
        "Staff": [["Name", "Joined"], ["Ana", dt.datetime(2021, 3, 1)], ["Ben", dt.date(2022, 7, 15)]],
    })
    doc = xlsx.load(path, "book.xlsx")
    assert doc.format == "xlsx" and doc.metadata["sheets"] == ["Sales", "Staff"]
    sales, staff = doc.blocks
    assert sales.kind == staff.kind == "table"
    assert sales.table.sheet == "Sales" and sales.heading_path == ["Sales"]
    assert sales.table.rows == [["Region", "Units", "Revenue"], ["North", "120", "1520.5"], ["South", "80", "990"]]
    assert sales.table.header_rows == 1 and sales.table.table_id == "book.xlsx#Sales"
    assert staff.table.rows == [["Name", "Joined"], ["Ana", "2021-03-01"], ["Ben", "2022-07-15"]]
    assert doc.text[sales.start:sales.end].splitlines()[1] == "North | 120 | 1520.5"


def test_formulas_give_cached_values_or_nothing(tmp_path: Path) -> None:
    # openpyxl writes formulas without cached values; data_only then reads None (not the formula)
    path = make_xlsx(tmp_path / "f.xlsx", {"S": [["a", "b", "sum"], [1, 2, "=A2+B2"]]})
    rows = xlsx.load(path, "f.xlsx").blocks[0].table.rows
    assert rows == [["a", "b", "sum"], ["1", "2", ""]]


def test_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ConnectorError, match="corrupt"):
        xlsx.load(bad, "bad.xlsx")
    empty = make_xlsx(tmp_path / "empty.xlsx", {"A": [], "B": [[None, None]]})
    with pytest.raises(ConnectorError, match="no data"):
        xlsx.load(empty, "empty.xlsx")
