"""CSV/TSV connector: dialect sniffing, header detection, one table block, errors."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest


from tests.fixtures_docs import make_csv  # noqa: E402

from connectors import csv as csv_connector  # noqa: E402
from connectors.base import ConnectorError  # noqa: E402

ROWS = [["city", "country", "population"], ["Zurich", "CH", "421,878"], ["Geneva", "CH", "203,856"],
        ["Lyon", "FR", "522,228"]]


@pytest.mark.parametrize("delimiter,name", [(",", "cities.csv"), (";", "cities.csv"), ("\t", "cities.tsv")])
def test_one_table_block_with_header(tmp_path: Path, delimiter: str, name: str) -> None:
    path = make_csv(tmp_path / name, ROWS, delimiter=delimiter)
    doc = csv_connector.load(path, name)
    assert doc.format == "csv"
    [block] = doc.blocks
    assert block.kind == "table" and block.table.rows == ROWS and block.table.header_rows == 1
    assert block.table.table_id == f"{name}#t1"
    assert doc.text[block.start:block.end] == "\n".join(" | ".join(r) for r in ROWS)
    assert doc.metadata["delimiter"] == delimiter


def test_no_header_when_first_row_is_data(tmp_path: Path) -> None:
    path = make_csv(tmp_path / "n.csv", [["1", "2.5", "3"], ["4", "5.5", "6"]])
    assert csv_connector.load(path, "n.csv").blocks[0].table.header_rows == 0


def test_quoted_cells_empty_rows_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('name,,note\n"Smith, Jane",,"line one\nline two"\n,,\n"Doe, J",,ok\n', encoding="utf-8")
    rows = csv_connector.load(path, "q.csv").blocks[0].table.rows
    assert rows == [["name", "note"], ["Smith, Jane", "line one line two"], ["Doe, J", "ok"]]


def test_utf8_bom_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffa,b\nü,ß\n".encode("utf-8"))
    assert csv_connector.load(path, "bom.csv").blocks[0].table.rows == [["a", "b"], ["ü", "ß"]]
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    with pytest.raises(ConnectorError, match="empty file"):
        csv_connector.load(empty, "empty.csv")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\x00\xff\xfe\x00garbage")
    with pytest.raises(ConnectorError, match="binary"):
        csv_connector.load(binary, "bin.csv")
