"""One PDF page read through PDFium: its tables, text lines and bold lines, or whether it needs OCR."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from connectors.pdf_cells import FoundTable
from connectors.pdf_layout import Line, clean, text_lines, visual_lines
from connectors.pdf_tables import find_tables
from connectors.pdf_words import join_vertical, page_words, text_rotation, to_top_left

if TYPE_CHECKING:
    from types import ModuleType

    import pypdfium2

MIN_TEXT_CHARS = 20  # a page with fewer non-space characters and an image is treated as a scan
MAX_PAGE_CHARS = 200_000  # beyond this a page's text is taken without geometry (pathological pages)
MAX_PATH_OBJECTS = 50_000  # path objects inspected per page for table rules


@dataclass
class Page:
    """What one page yielded: text lines and tables, OCR'd blocks or raw text."""

    number: int
    lines: list[Line] = field(default_factory=list)
    tables: list[FoundTable] = field(default_factory=list)
    table_order: list[int] = field(default_factory=list)  # reading position of each table
    ocr_blocks: list[tuple[str, tuple[float, float, float, float]]] = field(default_factory=list)
    image_path: str | None = None
    raw_text: str | None = None  # text of a pathological page taken without geometry
    needs_ocr: bool = False


def read_page(pdf: pypdfium2.PdfDocument, index: int) -> Page:
    """One page's words as tables and text lines (raw text if huge; flagged when it is a scan)."""
    import pypdfium2.raw as raw

    page = pdf[index]
    result = Page(number=index + 1)
    textpage = None
    try:
        left, bottom, right, top = page.get_cropbox()
        textpage = page.get_textpage()
        n = textpage.count_chars()
        rotation = text_rotation(textpage, n, page.get_rotation() % 360)
        frame = to_top_left(rotation, left, bottom, right, top)
        if n > MAX_PAGE_CHARS:
            result.raw_text = clean(textpage.get_text_range())
            return result
        words = join_vertical(page_words(textpage, n, frame))
        if sum(len(w.text) for w in words) < MIN_TEXT_CHARS and _has_image(page, raw):
            result.needs_ocr = True
            return result
        if not words:
            return result
        if rotation != page.get_rotation() % 360:
            # text shown sideways (a page turned by /Rotate alone): PDFium's character order
            # follows the display, so read the lines top to bottom in the text's own frame
            words = [w for line in visual_lines(words) for w in line.words]
        order = {id(w): k for k, w in enumerate(words)}
        width, height = right - left, top - bottom
        if rotation in (90, 270):
            width, height = height, width
        tables = find_tables(words, width, height, lambda: _segments(page, raw, frame))
        if tables:
            inside = {id(w) for t in tables for w in t.words}
            words = [w for w in words if id(w) not in inside]
            result.tables = tables
            result.table_order = [min((order[id(w)] for w in t.words if id(w) in order), default=0)
                                  for t in tables]
        result.lines = text_lines(words)
        for ln in result.lines:
            ln.order = order[id(ln.words[0])]
        _mark_bold(textpage, result.lines)
    finally:
        if textpage is not None:
            textpage.close()
        page.close()
    return result


def _mark_bold(textpage: pypdfium2.PdfTextPage, lines: list[Line]) -> None:
    """Flag lines whose first and last words are in a bold font (weight ≥ 600 or 'Bold' in name)."""
    import ctypes

    import pypdfium2.raw as raw

    buf = ctypes.create_string_buffer(256)
    flags = ctypes.c_int(0)

    def bold(i: int) -> bool:
        weight = raw.FPDFText_GetFontWeight(textpage.raw, i)
        raw.FPDFText_GetFontInfo(textpage.raw, i, buf, 256, ctypes.byref(flags))
        name = buf.value.decode("latin-1", "replace").lower()
        return weight >= 600 or "bold" in name or "black" in name or "heavy" in name

    for ln in lines:
        ln.bold = bold(ln.index) and (len(ln.words) == 1 or bold(ln.words[-1].index))


def _has_image(page: pypdfium2.PdfPage, raw: ModuleType) -> bool:
    for _ in page.get_objects(filter=[raw.FPDF_PAGEOBJ_IMAGE], max_depth=3):
        return True
    return False


def _segments(page: pypdfium2.PdfPage, raw: ModuleType,
              frame: Callable[[float, float, float, float], tuple[float, float, float, float]],
              ) -> list[tuple[float, float, float, float]]:
    """Horizontal and vertical strokes of the page's paths (rules, cell borders), top-left frame.

    Thin path objects are taken whole; other paths are walked segment by segment (through the
    object's matrix) and their axis-parallel straight pieces kept, so a grid drawn as one path
    or as rectangles yields every rule.
    """
    import ctypes

    out: list[tuple[float, float, float, float]] = []
    matrix = raw.FS_MATRIX()
    px, py = ctypes.c_float(), ctypes.c_float()

    def edge(x0: float, y0: float, x1: float, y1: float) -> None:
        if abs(x1 - x0) < 0.5 or abs(y1 - y0) < 0.5:
            out.append(frame(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))

    for seen, obj in enumerate(page.get_objects(filter=[raw.FPDF_PAGEOBJ_PATH], max_depth=1)):
        if seen > MAX_PATH_OBJECTS:
            break  # drawings with huge numbers of paths (maps, plots): no grid worth finding
        try:
            l, b, r, t = obj.get_bounds()
        except Exception:  # noqa: BLE001
            continue
        if r - l < 3 or t - b < 3:
            out.append(frame(l, b, r, t))
            continue
        handle = obj.raw
        n = raw.FPDFPath_CountSegments(handle)
        if n <= 0 or n > 2000 or not raw.FPDFPageObj_GetMatrix(handle, ctypes.byref(matrix)):
            continue
        a, bb, c, d, e, f = matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f
        start = prev = None
        for i in range(n):
            seg = raw.FPDFPath_GetPathSegment(handle, i)
            if not seg or not raw.FPDFPathSegment_GetPoint(seg, ctypes.byref(px), ctypes.byref(py)):
                continue
            x, y = a * px.value + c * py.value + e, bb * px.value + d * py.value + f
            kind = raw.FPDFPathSegment_GetType(seg)
            if kind == raw.FPDF_SEGMENT_MOVETO:
                start = prev = (x, y)
                continue
            if kind == raw.FPDF_SEGMENT_LINETO and prev is not None:
                edge(prev[0], prev[1], x, y)
            prev = (x, y)
            if raw.FPDFPathSegment_GetClose(seg) and start is not None:
                edge(x, y, start[0], start[1])
                prev = start
        if len(out) > 20000:
            break
    return out
