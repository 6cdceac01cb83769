"""OCR fallback for scanned PDF pages: engine choice, page limit, rendering and recognition."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from connectors.base import ConnectorError, round_bbox

if TYPE_CHECKING:
    import pypdfium2

    from connectors.ocr import OcrEngine
    from connectors.pdf_page import Page
    from ragkit.types import ConnectorOptions

OCR_DPI = 200  # render resolution for OCR (rapidocr works on at most 2000 px anyway)
OCR_MAX_SIDE = 2500  # pixels


def ocr_scans(path: Path, pdf: pypdfium2.PdfDocument, pages: list[Page], data: bytes,
              options: ConnectorOptions, errors: dict[int, str]) -> tuple[list[int], list[int], str]:
    """OCR the pages flagged as scans, within ``options``; returns (pages OCR'd, pages skipped, engine).

    Raises ConnectorError for an unknown engine, or when no engine is installed and no page has
    text; pages whose OCR fails are added to ``errors``.
    """
    from connectors.base import content_hash

    scans = [p for p in pages if p.needs_ocr]
    ocr_done: list[int] = []
    ocr_skipped: list[int] = []
    engine_name = ""
    if scans:
        from connectors import ocr

        try:
            engine = ocr.get_engine(options.ocr_engine, options.ocr_lang)
        except ValueError as exc:
            raise ConnectorError(path, str(exc)) from exc
        has_text = any(p.lines or p.raw_text for p in pages)
        if engine is None:
            if not has_text:
                raise ConnectorError(path, ocr.NO_ENGINE_REASON)
            ocr_skipped = [p.number for p in scans]
        else:
            engine_name = engine.name
            limit = options.ocr_max_pages
            image_dir = options.image_dir
            stem = content_hash(data)[:16]
            for page in scans:
                if len(ocr_done) >= limit:
                    ocr_skipped.append(page.number)
                    continue
                try:
                    ocr_page(pdf, page, engine, image_dir, stem)
                    ocr_done.append(page.number)
                except Exception as exc:  # noqa: BLE001
                    errors[page.number] = f"OCR failed: {type(exc).__name__}: {exc}"[:200]
    return ocr_done, ocr_skipped, engine_name


def ocr_page(pdf: pypdfium2.PdfDocument, page: Page, engine: OcrEngine, image_dir: str | None,
             stem: str) -> None:
    """Render one scanned page, OCR it and add its blocks (and the kept image's path) to ``page``."""
    from connectors import ocr

    pg = pdf[page.number - 1]
    try:
        width, height = pg.get_size()
        scale = min(OCR_DPI / 72.0, OCR_MAX_SIDE / max(width, height, 1.0))
        image = pg.render(scale=scale).to_pil()
    finally:
        pg.close()
    lines = engine.recognize(image)
    if image_dir:
        out = Path(image_dir)
        out.mkdir(parents=True, exist_ok=True)
        target = out / f"{stem}-p{page.number}.png"
        image.save(target)
        page.image_path = str(target)
    for block in ocr.layout_blocks(lines):
        text = ocr.block_text(block)
        if text:
            bbox = round_bbox(ocr.block_bbox(block, scale), 2)
            page.ocr_blocks.append((text, bbox))
