"""PDF connector: pages, paragraphs, headings, spans, encrypted/corrupt files, scanned pages."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ragkit.types import ConnectorOptions


from tests.fixtures_docs import (  # noqa: E402
    make_encrypted_pdf,
    make_image_only_pdf,
    make_mixed_pdf,
    make_text_pdf,
)

from connectors import pdf  # noqa: E402
from connectors.base import ConnectorError  # noqa: E402
from connectors.ocr import NO_ENGINE_REASON, available_engines  # noqa: E402

PAGES = [
    [
        "Alpine glaciers have retreated markedly since the middle of the nineteenth century, and the "
        "rate of loss accelerated after 1980 according to the World Glacier Monitoring Service.",
        "Meltwater from glaciers feeds rivers that supply drinking water and hydropower to millions.",
    ],
    ["The second page discusses the Rhone glacier, which has lost more than a kilometre of length."],
    ["Finally, the third page lists monitoring stations in Valais and Graubunden."],
]
needs_ocr = pytest.mark.skipif(not available_engines(), reason="no OCR engine installed")


def _blocks(doc, kind=None):
    return [b for b in doc.blocks if kind is None or b.kind == kind]


def test_pages_paragraphs_and_spans(tmp_path: Path) -> None:
    path = make_text_pdf(tmp_path / "glaciers.pdf", PAGES, headings={0: "Glacier Retreat"})
    doc = pdf.load(path, "glaciers.pdf")
    assert doc.format == "pdf" and doc.source == "glaciers.pdf"
    assert doc.metadata["pages"] == 3
    texts = {doc.text[b.start:b.end]: b for b in doc.blocks}
    for page_no, paragraphs in enumerate(PAGES, start=1):
        for paragraph in paragraphs:
            assert paragraph in texts, paragraph  # one paragraph = one block, lines re-joined
            assert texts[paragraph].page == page_no
            assert texts[paragraph].kind == "text"
    # every block's span is exact and blocks are in order without overlap
    end = 0
    for b in doc.blocks:
        assert end <= b.start < b.end <= len(doc.text)
        assert doc.text[b.start:b.end] == doc.text[b.start:b.end].strip()
        assert b.bbox is not None and b.bbox[0] < b.bbox[2] and b.bbox[1] < b.bbox[3]
        end = b.end


def test_heading_block_and_heading_path(tmp_path: Path) -> None:
    path = make_text_pdf(tmp_path / "h.pdf", PAGES[:1], headings={0: "Glacier Retreat"})
    doc = pdf.load(path, "h.pdf")
    headings = _blocks(doc, "heading")
    assert [doc.text[h.start:h.end] for h in headings] == ["Glacier Retreat"]
    body = _blocks(doc, "text")
    assert body and all(b.heading_path == ["Glacier Retreat"] for b in body)


def test_encrypted_with_user_password_raises(tmp_path: Path) -> None:
    path = make_encrypted_pdf(tmp_path / "locked.pdf", user_password="s3cret")
    with pytest.raises(ConnectorError) as err:
        pdf.load(path, "locked.pdf")
    assert err.value.reason == "encrypted PDF (password required)"


def test_encrypted_with_empty_user_password_opens(tmp_path: Path) -> None:
    path = make_encrypted_pdf(tmp_path / "owner-only.pdf", user_password="")
    doc = pdf.load(path, "owner-only.pdf")
    assert "Secret quarterly numbers are inside." in doc.text


@pytest.mark.parametrize(
    "content",
    [b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", b"\x00\x01garbage" * 100, b"   \n"],
    ids=["truncated", "garbage", "blank"],
)
def test_corrupt_files_raise_connector_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.pdf"
    path.write_bytes(content)
    with pytest.raises(ConnectorError) as err:
        pdf.load(path, "bad.pdf")
    assert err.value.reason and err.value.path == str(path)


@pytest.mark.parametrize("keep", [1 / 3, 1 / 2, 5 / 6])
def test_truncated_real_pdf_is_a_clear_error(tmp_path: Path, keep: float) -> None:
    """A real PDF cut short (its cross-reference table gone) is refused by PDFium: a ConnectorError
    naming the file and saying it is corrupt, never a partial document or another exception."""
    good = make_text_pdf(tmp_path / "good.pdf", PAGES)
    data = good.read_bytes()
    bad = tmp_path / "cut.pdf"
    bad.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ConnectorError) as err:
        pdf.load(bad, "cut.pdf")
    assert err.value.path == str(bad) and err.value.reason.startswith("corrupt or unreadable PDF")


def test_scan_without_ocr_engine_raises(tmp_path: Path) -> None:
    path = make_image_only_pdf(tmp_path / "scan.pdf", ["Invoice number 4711"])
    with pytest.raises(ConnectorError) as err:
        pdf.load(path, "scan.pdf", ConnectorOptions(ocr_engine="none"))
    assert err.value.reason == NO_ENGINE_REASON


def test_mixed_pdf_without_ocr_keeps_text_pages(tmp_path: Path) -> None:
    path = make_mixed_pdf(tmp_path / "mixed.pdf", "Typed page about turbines.", ["Scanned page"])
    doc = pdf.load(path, "mixed.pdf", ConnectorOptions(ocr_engine="none"))
    assert "Typed page about turbines." in doc.text
    assert doc.metadata["pages_without_text"] == [2]


@needs_ocr
def test_scanned_page_is_ocrd(tmp_path: Path) -> None:
    path = make_mixed_pdf(
        tmp_path / "mixed.pdf",
        "Typed page about turbines.",
        ["Invoice number 4711", "Total due: 1,250.00 EUR"],
    )
    doc = pdf.load(path, "mixed.pdf", ConnectorOptions(image_dir=str(tmp_path / "images")))
    assert doc.metadata["ocr_pages"] == [2]
    images = _blocks(doc, "image")
    assert images and all(b.page == 2 for b in images)
    text = " ".join(doc.text[b.start:b.end] for b in images)
    for word in ("Invoice", "4711", "Total", "1,250.00", "EUR"):
        assert word in text
    assert all(b.bbox and 0 <= b.bbox[0] < b.bbox[2] <= 432 for b in images)  # page points
    stored = Path(images[0].image_path)
    assert stored.exists() and stored.parent == tmp_path / "images"
    assert _blocks(doc, "text")[0].page == 1


@needs_ocr
def test_image_only_pdf_without_image_dir_stores_nothing(tmp_path: Path) -> None:
    path = make_image_only_pdf(tmp_path / "scan.pdf", ["Quarterly report 2024"])
    doc = pdf.load(path, "scan.pdf")
    assert "Quarterly report 2024" in doc.text
    assert all(b.kind == "image" and b.image_path is None for b in doc.blocks)


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotated_pages_read_left_to_right(tmp_path: Path, degrees: int) -> None:
    from pypdf import PdfReader, PdfWriter

    plain = make_text_pdf(tmp_path / "plain.pdf", PAGES[:1])
    writer = PdfWriter()
    for page in PdfReader(plain).pages:
        page.rotate(degrees)
        writer.add_page(page)
    path = tmp_path / "rotated.pdf"
    with open(path, "wb") as fh:
        writer.write(fh)
    doc = pdf.load(path, "rotated.pdf")
    for paragraph in PAGES[0]:
        assert paragraph in doc.text


def test_vertical_margin_text_is_one_word() -> None:
    from connectors.pdf_layout import Word
    from connectors.pdf_words import join_vertical

    # PDFium reports text that runs up the page one turned character at a time: wide, short boxes
    letters = [Word(ch, 10, 500 - 6 * i, 19, 506 - 6 * i, i) for i, ch in enumerate("Draft")]
    body = [Word("Body", 72, 100, 100, 112, 10)]
    words = join_vertical(letters + body)
    assert [(w.text, w.vertical) for w in words] == [("Draft", True), ("Body", False)]
