"""Tables end to end: a PDF table spanning pages, CSV, XLSX with two sheets and DOCX become table
chunks that repeat their header and know their table id and row range."""
from __future__ import annotations

from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle
from reportlab.lib.styles import getSampleStyleSheet

from tests.fixtures_docs import make_csv, make_docx, make_xlsx


def _long_table_pdf(path: Path, rows: int = 90) -> Path:
    data = [["City", "Population", "Area"]] + [[f"Town{i:03d}", str(1000 + i * 37), f"{10 + i}.5"] for i in range(rows)]
    table = Table(data, repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
    story = [Paragraph("Population by town", getSampleStyleSheet()["Heading2"]), table]
    SimpleDocTemplate(str(path), pagesize=A4).build(story)
    return path


def test_multi_page_pdf_table_chunks_repeat_header(hash_kit, tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    _long_table_pdf(docs / "towns.pdf")
    report = hash_kit.index([docs])
    assert report.failed == [] and report.added == 1
    chunks = hash_kit.store.doc_chunks(str((docs / "towns.pdf").resolve()))
    tables = [c for c in chunks if c.kind == "table"]
    pages = {c.page for c in tables}
    assert len(pages) >= 2  # the table spans pages
    towns = set()
    for c in tables:
        header = c.text.split("\n|---")[0]
        assert "City" in header and "Population" in header and "Area" in header
        assert c.table_id and c.row_range and c.row_range[1] > c.row_range[0]
        towns.update(w for w in c.text.replace("|", " ").split() if w.startswith("Town"))
    assert len(towns) == 90  # every row is in some chunk
    # table text is not indexed twice as running text
    assert not any("Town001" in c.text for c in chunks if c.kind == "text")


def test_csv_xlsx_docx_tables(hash_kit, tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    make_csv(docs / "prices.csv", [["Item", "Price"], ["Apple", "1.20"], ["Pear", "0.90"]])
    make_xlsx(docs / "book.xlsx", {"Q1": [["Region", "Sales"], ["North", 10], ["South", 20]],
                                   "Q2": [["Region", "Sales"], ["North", 15], ["South", 25]]})
    make_docx(docs / "report.docx", [("h1", "Results"), ("p", "Numbers below."),
                                      ("table", [["Metric", "Value"], ["Uptime", "99.9%"]])])
    report = hash_kit.index([docs])
    assert report.failed == [] and report.added == 3
    by_source = {}
    for doc in hash_kit.documents():
        by_source[Path(doc["source"]).name] = [c for c in hash_kit.store.doc_chunks(doc["doc_id"]) if c.kind == "table"]
    assert any("| Item | Price |" in c.text and "Pear" in c.text for c in by_source["prices.csv"])
    sheets = {c.table_id.split("#")[-1] for c in by_source["book.xlsx"]}
    assert sheets == {"Q1", "Q2"}
    assert all(c.text.startswith("Sheet: Q") for c in by_source["book.xlsx"])
    assert any("| Metric | Value |" in c.text and "Uptime" in c.text for c in by_source["report.docx"])
    hits = hash_kit.search("Uptime", mode="lexical", k=3)
    assert hits and hits[0].chunk.kind == "table" and hits[0].chunk.source.endswith("report.docx")
