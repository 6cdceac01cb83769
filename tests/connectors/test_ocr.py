"""OCR engines and OCR layout: real engines on rendered text, layout on hand-made line boxes."""
from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest


from tests.fixtures_docs import make_text_png  # noqa: E402

from connectors import ocr  # noqa: E402
from connectors.ocr import OcrLine, block_text, layout_blocks  # noqa: E402

HAS_RAPIDOCR = "rapidocr" in ocr.available_engines()


def _line(text: str, x0: float, top: float, x1: float, h: float = 20.0) -> OcrLine:
    return OcrLine(text, (x0, top, x1, top + h), 0.99)


def test_layout_reads_columns_then_paragraphs() -> None:
    lines = [
        _line("Title across the page", 50, 10, 950),
        _line("left one", 50, 60, 450), _line("right one", 550, 60, 950),
        _line("left two", 50, 85, 450), _line("right two", 550, 85, 950),
        _line("left three", 50, 150, 450), _line("right three", 550, 150, 950),
        _line("footer across the page", 50, 300, 950),
    ]
    blocks = [block_text(b) for b in layout_blocks(lines)]
    assert blocks == [
        "Title across the page",
        "left one left two",
        "left three",
        "right one right two",
        "right three",
        "footer across the page",
    ]


def test_block_text_joins_hyphenated_words() -> None:
    block = [_line("the measure-", 0, 0, 100), _line("ment was repeated", 0, 22, 100)]
    assert block_text(block) == "the measurement was repeated"
    assert block_text([_line("well-", 0, 0, 50), _line("Known", 0, 22, 50)]) == "well- Known"


def test_engine_selection() -> None:
    assert ocr.get_engine("none") is None
    with pytest.raises(ValueError):
        ocr.get_engine("nonexistent")


@pytest.mark.skipif(not HAS_RAPIDOCR, reason="rapidocr not installed")
def test_rapidocr_reads_rendered_text_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    engine = ocr.RapidOcrEngine()  # a fresh load: models must come from the wheel, not the net
    assert os.environ.get("ORT_DISABLE_TELEMETRY") == "1"
    png = make_text_png(tmp_path / "t.png", ["Revenue grew 12% in 2023", "Net margin: 8.4 percent"])
    lines = engine.recognize(png)
    assert [ln.text for ln in lines] == ["Revenue grew 12% in 2023", "Net margin: 8.4 percent"]
    first = lines[0]
    assert 15 <= first.bbox[0] <= 45 and 15 <= first.bbox[1] <= 45  # text drawn at (30, 30)
    assert first.bbox[3] < lines[1].bbox[1] and 0.5 < first.confidence <= 1.0


@pytest.mark.skipif(not shutil.which("tesseract"), reason="tesseract not installed")
def test_tesseract_reads_rendered_text(tmp_path: Path) -> None:
    png = make_text_png(tmp_path / "t.png", ["Invoice number 4711", "Total due 1,250.00 EUR"])
    lines = ocr.TesseractEngine().recognize(png)
    assert [ln.text for ln in lines] == ["Invoice number 4711", "Total due 1,250.00 EUR"]
    assert lines[0].bbox[1] < lines[1].bbox[1]
