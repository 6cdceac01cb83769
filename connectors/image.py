"""Image connector (PNG/JPEG screenshots, charts, scans): OCR text as ``image`` blocks.

Lines from :mod:`connectors.ocr` are grouped into blocks by layout (columns, paragraphs); each
block's ``bbox`` is the union of its lines in image pixels ``(x0, top, x1, bottom)`` and its
``image_path`` is the file itself.
"""
from __future__ import annotations

import io
import statistics
from pathlib import Path

from connectors.base import ConnectorError, DocumentBuilder, read_bytes, round_bbox
from ragkit.types import ConnectorOptions, Document

FORMAT = "image"


def load(path: Path, source: str, options: ConnectorOptions | None = None) -> Document:
    """OCR an image file into a Document; ConnectorError if unreadable or no OCR engine exists."""
    options = options or ConnectorOptions()
    from connectors import ocr

    path = Path(path)
    data = read_bytes(path)
    try:
        from PIL import Image, ImageOps
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise ConnectorError(path, "images need Pillow: pip install pillow") from exc
    try:
        with Image.open(io.BytesIO(data)) as im:  # the bytes hashed are the bytes parsed
            im.load()
            image = ImageOps.exif_transpose(im)  # phone photos: honour the EXIF orientation
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad files
        raise ConnectorError(path, f"corrupt or unsupported image ({exc})") from exc

    try:
        engine = ocr.get_engine(options.ocr_engine, options.ocr_lang)
    except ValueError as exc:
        raise ConnectorError(path, str(exc)) from exc
    if engine is None:
        raise ConnectorError(path, ocr.NO_ENGINE_REASON)
    try:
        lines = engine.recognize(image)
    except Exception as exc:  # noqa: BLE001
        raise ConnectorError(path, f"OCR failed ({type(exc).__name__}: {exc})") from exc
    if not lines:
        raise ConnectorError(path, "no text recognized in image")

    builder = DocumentBuilder()
    for block in ocr.layout_blocks(lines):
        bbox = round_bbox(ocr.block_bbox(block), 1)
        builder.add(ocr.block_text(block), "image", bbox=bbox, image_path=str(path))
    metadata = {
        "width": image.width,
        "height": image.height,
        "ocr_engine": engine.name,
        "ocr_confidence": round(statistics.fmean(ln.confidence for ln in lines), 3),
    }
    return builder.build(source=source, data=data, format=FORMAT, metadata=metadata)
