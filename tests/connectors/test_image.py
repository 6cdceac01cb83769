"""Image connector: OCR of rendered screenshots into image blocks, errors for bad input."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ragkit.types import ConnectorOptions


from tests.fixtures_docs import make_text_png, pil_font  # noqa: E402

from connectors import image  # noqa: E402
from connectors.base import ConnectorError  # noqa: E402
from connectors.ocr import NO_ENGINE_REASON, available_engines  # noqa: E402

needs_ocr = pytest.mark.skipif(not available_engines(), reason="no OCR engine installed")


@needs_ocr
def test_two_column_screenshot(tmp_path: Path) -> None:
    from PIL import Image, ImageDraw

    font = pil_font(28)
    im = Image.new("RGB", (1400, 420), "white")
    draw = ImageDraw.Draw(im)
    draw.text((40, 20), "Annual Report Summary", fill="black", font=pil_font(40))
    for i, text in enumerate(["Sales rose in spring", "and fell in autumn"]):
        draw.text((40, 120 + 45 * i), text, fill="black", font=font)
    for i, text in enumerate(["Costs were flat", "across all regions"]):
        draw.text((760, 120 + 45 * i), text, fill="black", font=font)
    path = tmp_path / "report.jpg"
    im.save(path, quality=90)
    doc = image.load(path, "report.jpg")
    assert doc.format == "image"
    texts = [doc.text[b.start:b.end] for b in doc.blocks]
    assert texts == ["Annual Report Summary", "Sales rose in spring and fell in autumn",
                     "Costs were flat across all regions"]
    for b in doc.blocks:
        assert b.kind == "image" and b.image_path == str(path)
        x0, top, x1, bottom = b.bbox
        assert 0 <= x0 < x1 <= 1400 and 0 <= top < bottom <= 420
    assert doc.blocks[2].bbox[0] > 700  # the right column's box
    assert doc.metadata["width"] == 1400 and doc.metadata["ocr_engine"] in available_engines()


def test_corrupt_image(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png")
    with pytest.raises(ConnectorError) as err:
        image.load(path, "broken.png")
    assert "corrupt" in err.value.reason


def test_no_engine(tmp_path: Path) -> None:
    path = make_text_png(tmp_path / "t.png", ["hello"])
    with pytest.raises(ConnectorError) as err:
        image.load(path, "t.png", ConnectorOptions(ocr_engine="none"))
    assert err.value.reason == NO_ENGINE_REASON


@needs_ocr
def test_blank_image(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "blank.png"
    Image.new("RGB", (300, 200), "white").save(path)
    with pytest.raises(ConnectorError) as err:
        image.load(path, "blank.png")
    assert err.value.reason == "no text recognized in image"


def test_unknown_engine_name_is_a_connector_error(tmp_path: Path) -> None:
    path = make_text_png(tmp_path / "t.png", ["hello"])
    with pytest.raises(ConnectorError, match="unknown OCR engine 'bogus'; valid: rapidocr, tesseract, none"):
        image.load(path, "t.png", ConnectorOptions(ocr_engine="bogus"))
