"""PDF tables through the PDF connector: ruled and unruled tables, prose that must stay prose."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest


from tests.fixtures_docs import TABLE_ROWS, make_table_pdf, make_text_pdf  # noqa: E402

from connectors import pdf  # noqa: E402
from connectors.pdf_layout import Word  # noqa: E402
from connectors.pdf_tables import find_tables  # noqa: E402
from ragkit.eval.tables import evaluate_icdar, evaluate_tabula, normalize_cell  # noqa: E402

ICDAR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pdf_tables" / "icdar2013"
TABULA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pdf_tables" / "tabula_java"


def _tables(doc):
    return [b for b in doc.blocks if b.kind == "table"]


@pytest.mark.parametrize("ruled,method", [(True, "lattice"), (False, "stream")])
def test_table_block_rows_text_and_order(tmp_path: Path, ruled: bool, method: str) -> None:
    path = make_table_pdf(tmp_path / "t.pdf", ruled=ruled)
    doc = pdf.load(path, "t.pdf")
    [block] = _tables(doc)
    table = block.table
    assert table.rows == TABLE_ROWS
    assert table.table_id == "t.pdf#p1t1" and table.page == 1 and block.page == 1
    assert table.header_rows == 1 and table.bbox == block.bbox
    assert doc.metadata["table_methods"] == {"t.pdf#p1t1": method}
    # the span holds the rows as " | "-separated lines, and the rows appear nowhere else
    assert doc.text[block.start:block.end] == "\n".join(" | ".join(r) for r in TABLE_ROWS)
    rest = doc.text[:block.start] + doc.text[block.end:]
    assert "1,204" not in rest and "Region" not in rest
    kinds = [b.kind for b in doc.blocks]
    assert kinds == ["text", "table", "text"]  # intro paragraph, table, closing paragraph
    x0, top, x1, bottom = table.bbox
    assert 0 < x0 < x1 < 612 and 0 < top < bottom < 792


def test_prose_pages_have_no_tables(tmp_path: Path) -> None:
    words = ("The committee reviewed the annual budget and approved the new maintenance plan "
             "for the northern district after a long discussion about priorities. ")
    path = make_text_pdf(tmp_path / "prose.pdf", [[words * 4, words * 3], [words * 5]])
    doc = pdf.load(path, "prose.pdf")
    assert not _tables(doc) and "tables" in doc.metadata and doc.metadata["tables"] == 0


def _grid_words(rows: list[list[str]], x0: float = 72, top: float = 100, col: float = 90) -> list[Word]:
    out = []
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            x = x0 + c * col
            for token in cell.split():
                out.append(Word(token, x, top + r * 14, x + 6 * len(token), top + r * 14 + 10, len(out)))
                x += 6 * len(token) + 3
    return out


def test_find_tables_on_words_and_rejects_two_text_columns() -> None:
    rows = [["Item", "Q1", "Q2", "Q3"], ["Apples", "10", "12", "14"], ["Pears", "7", "9", "11"],
            ["Plums", "3", "4", "5"]]
    [found] = find_tables(_grid_words(rows), 612, 792)
    assert found.rows == rows and found.method == "stream"
    prose = [["the river rose slowly over night and", "while the town council met to discuss"],
             ["flooded the lower fields near the mill", "what should be done about the bridge"],
             ["before the farmers could move sheep", "and the road that leads to the hills"]]
    assert find_tables(_grid_words(prose, col=260), 612, 792) == []


@pytest.mark.skipif(not ICDAR.exists(), reason="ICDAR 2013 data not present")
def test_evaluate_icdar_on_a_few_documents(tmp_path: Path) -> None:
    subset = tmp_path / "icdar"
    subset.mkdir()
    for name in ("us-018", "eu-004", "us-025"):
        for src in ICDAR.rglob(f"{name}*"):
            shutil.copy(src, subset / src.name)
    out = tmp_path / "cells.json"
    result = evaluate_icdar(subset, out)
    assert result["documents"] == 3 and result["cells"] > 1000
    assert result["cell_recall"] >= 0.9 and result["cell_precision"] >= 0.85
    dump = json.loads(out.read_text())
    assert dump["summary"]["cells"] == result["cells"] and dump["pages"][0]["tables"]


@pytest.mark.skipif(not TABULA.exists(), reason="tabula-java data not present")
def test_evaluate_tabula() -> None:
    result = evaluate_tabula(TABULA)
    assert result["documents"] == 11 and result["cell_f1"] >= 0.9


def test_normalize_cell() -> None:
    assert normalize_cell(" to air\nkg/year ") == "toairkg/year"


def test_caption_and_header_rows(tmp_path: Path) -> None:
    path = make_table_pdf(tmp_path / "c.pdf", ruled=False, intro="Table 3. Revenue by region, 2021-2023")
    [block] = _tables(pdf.load(path, "c.pdf"))
    assert block.table.caption == "Table 3. Revenue by region, 2021-2023"
    assert block.table.header_rows == 1


def test_table_text_lines_match_rows() -> None:
    rows = [["", "2022", "2023"], ["Sales", "1", ""], ["Costs", "", "2"]]
    assert pdf.table_text(rows) == "| 2022 | 2023\nSales | 1 |\nCosts |  | 2"
