"""OCR engines behind one small interface: rapidocr 3.x (preferred) or the tesseract CLI.

``get_engine()`` returns an engine or ``None`` when none is installed; ``engine.recognize(image)``
returns :class:`OcrLine` records (text, pixel bbox ``(x0, top, x1, bottom)``, confidence 0..1).
``layout_blocks(lines)`` groups lines into paragraphs/columns in reading order.

Engine choice: ``get_engine(name)`` with ``rapidocr`` | ``tesseract`` | ``none`` (the store's config
``ocr.engine``; empty: the first one available in that order). Both run fully offline: rapidocr ships its ONNX models inside the
wheel and is pointed at them explicitly, so it never downloads; onnxruntime telemetry is disabled
before it is imported.
"""
from __future__ import annotations

import functools
import importlib.util
import math
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PIL import Image

NO_ENGINE_REASON = (
    "no text layer and no OCR engine installed: pip install rapidocr (or apt install tesseract-ocr)"
)


@dataclass
class OcrLine:
    """One recognized text line: ``bbox`` is ``(x0, top, x1, bottom)`` in image pixels.

    ``angle`` is the line's slope in degrees (clockwise positive) and ``quad`` its four corners
    when the engine reports rotated boxes (rapidocr); they are used to deskew the layout.
    """

    text: str
    bbox: tuple[float, float, float, float]
    confidence: float
    angle: float = 0.0
    quad: tuple[tuple[float, float], ...] | None = None


class OcrEngine(Protocol):
    name: str

    def recognize(self, image: Image.Image | str | Path) -> list[OcrLine]: ...


def _as_pil(image: Image.Image | str | Path) -> Image.Image:
    from PIL import Image

    if isinstance(image, (str, Path)):
        with Image.open(image) as im:
            im.load()
            image = im.copy()
    if image.mode not in ("RGB", "L"):
        # flatten transparency onto white: OCR models expect dark text on light ground
        if "A" in image.getbands() or image.mode == "P":
            rgba = image.convert("RGBA")
            bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            bg.alpha_composite(rgba)
            image = bg
        image = image.convert("RGB")
    return image


class RapidOcrEngine:
    """rapidocr 3.x (PP-OCR ONNX models packaged in the wheel); seconds per image on a CPU."""

    name = "rapidocr"

    def __init__(self) -> None:
        from ragkit.offline import enforce_offline

        enforce_offline()  # onnxruntime reads its telemetry switch at import
        from rapidocr import RapidOCR

        spec = importlib.util.find_spec("rapidocr")
        if spec is None or spec.origin is None:  # not after the import above; for the type checker
            raise ImportError("rapidocr is not installed")
        models = Path(spec.origin).parent / "models"
        params: dict[str, object] = {"Global.log_level": "error"}
        # Point at the packaged files so that rapidocr never reaches for its download URLs.
        for task, pattern in (("Det", "*det*.onnx"), ("Rec", "*rec*.onnx"), ("Cls", "*cls*.onnx")):
            found = sorted(models.glob(pattern))
            if found:
                params[f"{task}.model_path"] = str(found[0])
        self._engine = RapidOCR(params=params)

    def recognize(self, image: Image.Image | str | Path) -> list[OcrLine]:
        import numpy as np

        pil = _as_pil(image)
        from rapidocr.utils.output import RapidOCROutput

        result = self._engine(np.asarray(pil.convert("RGB")))
        if not isinstance(result, RapidOCROutput):
            # a stage's own output alone: rapidocr logged that a later stage failed (callers report the error)
            raise RuntimeError(f"rapidocr returned a partial result ({type(result).__name__})")
        if result.boxes is None or result.txts is None or result.scores is None:
            return []
        lines = []
        for box, text, score in zip(result.boxes, result.txts, result.scores):
            text = text.strip()
            if not text:
                continue
            xs = [float(p[0]) for p in box]
            ys = [float(p[1]) for p in box]
            # the box is a quadrilateral starting at the top-left corner: its top edge gives the slope
            dx, dy = xs[1] - xs[0], ys[1] - ys[0]
            angle = math.degrees(math.atan2(dy, dx)) if dx > 0 else 0.0
            quad = tuple(zip(xs, ys))
            lines.append(OcrLine(text, (min(xs), min(ys), max(xs), max(ys)), float(score), angle, quad))
        return lines


class TesseractEngine:
    """The ``tesseract`` command line (Debian ``tesseract-ocr``); lines from its TSV output."""

    name = "tesseract"

    def __init__(self, lang: str | None = None) -> None:
        binary = shutil.which("tesseract")
        if not binary:
            raise RuntimeError("tesseract not found: apt install tesseract-ocr tesseract-ocr-eng")
        self.binary = binary
        self.lang = lang or "eng"

    def recognize(self, image: Image.Image | str | Path) -> list[OcrLine]:
        pil = _as_pil(image)
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "page.png"
            pil.save(src)
            proc = subprocess.run(
                [self.binary, str(src), "stdout", "-l", self.lang, "--psm", "3", "tsv"],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        if proc.returncode != 0:
            raise RuntimeError(f"tesseract failed: {proc.stderr.strip()[:300]}")
        groups: dict[tuple[str, str, str, str], list[tuple[str, float, float, float, float, float]]] = {}
        for row in proc.stdout.splitlines()[1:]:
            cols = row.split("\t")
            if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
                continue
            x, y, w, h = (float(c) for c in cols[6:10])
            key = (cols[1], cols[2], cols[3], cols[4])  # page, block, paragraph, line
            groups.setdefault(key, []).append((cols[11].strip(), x, y, x + w, y + h, float(cols[10])))
        lines = []
        for words in groups.values():
            text = " ".join(w[0] for w in words)
            bbox = (min(w[1] for w in words), min(w[2] for w in words),
                    max(w[3] for w in words), max(w[4] for w in words))
            conf = statistics.fmean(max(w[5], 0.0) for w in words) / 100.0
            lines.append(OcrLine(text, bbox, conf))
        return lines


def available_engines() -> list[str]:
    """Names of the OCR engines that can run here, preferred first."""
    names = []
    if importlib.util.find_spec("rapidocr") is not None:
        names.append("rapidocr")
    if shutil.which("tesseract"):
        names.append("tesseract")
    return names


@functools.lru_cache(maxsize=4)
def _load(name: str, lang: str = "eng") -> OcrEngine:
    # Cached because loading the ONNX sessions costs ~1.5 s; created lazily on first use only.
    if name == "rapidocr":
        return RapidOcrEngine()
    if name == "tesseract":
        return TesseractEngine(lang)
    raise ValueError(f"unknown OCR engine {name!r} (rapidocr | tesseract | none)")


def get_engine(name: str | None = None, lang: str = "eng") -> OcrEngine | None:
    """The OCR engine ``name`` (``rapidocr`` | ``tesseract`` | ``none``), or the best available one
    when ``name`` is empty; None when none can be loaded."""
    name = (name or "").strip().lower()
    if name == "none":
        return None
    if name:
        if name not in ("rapidocr", "tesseract"):
            raise ValueError(f"unknown OCR engine {name!r}; valid: rapidocr, tesseract, none")
        try:
            return _load(name, lang)
        except Exception:  # noqa: BLE001 - not installed or broken: callers report "no OCR engine"
            return None
    for candidate in available_engines():
        try:
            return _load(candidate, lang)
        except Exception:  # a broken install of one engine should not hide the other
            continue
    return None


def layout_blocks(lines: list[OcrLine]) -> list[list[OcrLine]]:
    """Group OCR lines into blocks (paragraphs within columns), in reading order.

    Lines are first ordered into columns (lines overlapping horizontally, stacked vertically),
    then each column is split into paragraphs at vertical gaps larger than half a line height.
    Hand-written because the engines return lines only, not layout.
    """
    if not lines:
        return []
    straight = _deskewed(lines)
    heights = [ln.bbox[3] - ln.bbox[1] for ln in straight]
    line_h = statistics.median(heights) or 1.0
    # 1. cluster lines into vertical stacks that overlap horizontally and follow each other closely
    order = sorted(straight, key=lambda ln: (ln.bbox[1], ln.bbox[0]))
    stacks: list[list[_Straight]] = []
    for ln in order:
        best = None
        for stack in stacks:
            last = stack[-1]
            overlap = min(ln.bbox[2], last.bbox[2]) - max(ln.bbox[0], last.bbox[0])
            width = min(ln.bbox[2] - ln.bbox[0], last.bbox[2] - last.bbox[0])
            gap = ln.bbox[1] - last.bbox[3]
            if overlap > 0.3 * max(width, 1.0) and -0.5 * line_h < gap < 1.6 * line_h:
                if best is None or last.bbox[3] > best[-1].bbox[3]:
                    best = stack
        if best is None:
            stacks.append([ln])
        else:
            best.append(ln)
    # 2. split stacks into paragraphs at larger gaps or indented first lines
    blocks: list[list[_Straight]] = []
    for stack in stacks:
        current = [stack[0]]
        for prev, ln in zip(stack, stack[1:]):
            gap = ln.bbox[1] - prev.bbox[3]
            if gap > 0.5 * line_h:
                blocks.append(current)
                current = []
            current.append(ln)
        blocks.append(current)
    # 3. reading order: blocks that share a horizontal band are read left column first
    def bbox(block: list[_Straight]) -> tuple[float, float, float, float]:
        return (min(b.bbox[0] for b in block), min(b.bbox[1] for b in block),
                max(b.bbox[2] for b in block), max(b.bbox[3] for b in block))

    boxes = [bbox(b) for b in blocks]
    return [[s.line for s in blocks[i]] for i in _reading_order(boxes)]


def _deskewed(lines: list[OcrLine]) -> list[_Straight]:
    """Lines with boxes rotated back by the page's skew (median slope of long lines).

    On a skewed scan the axis-aligned boxes of tilted lines overlap their neighbours, which
    merges columns; grouping works on straightened boxes and the originals are kept for output.
    """
    slopes = [ln.angle for ln in lines if ln.bbox[2] - ln.bbox[0] > 3 * (ln.bbox[3] - ln.bbox[1])]
    skew = statistics.median(slopes) if slopes else 0.0
    out = []
    if abs(skew) < 0.3 or abs(skew) > 20:
        return [_Straight(ln, ln.bbox) for ln in lines]
    cos, sin = math.cos(math.radians(-skew)), math.sin(math.radians(-skew))
    for ln in lines:
        x0, y0, x1, y1 = ln.bbox
        corners = ln.quad or ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
        xs = [x * cos - y * sin for x, y in corners]
        ys = [x * sin + y * cos for x, y in corners]
        out.append(_Straight(ln, (min(xs), min(ys), max(xs), max(ys))))
    return out


@dataclass
class _Straight:
    """An OCR line with the box used for layout (deskewed); ``line`` keeps the original."""

    line: OcrLine
    bbox: tuple[float, float, float, float]


def _reading_order(boxes: list[tuple[float, float, float, float]]) -> list[int]:
    """Recursive XY-cut: columns (vertical gutters) first, then horizontal bands.

    When no gutter runs through a whole region (a title or footer spans it), the region is cut
    into horizontal bands and consecutive bands that have columns are regrouped, so that a
    paragraph break that happens to align across columns does not interleave them.
    """

    def split(idx: list[int], lo: int, hi: int) -> list[list[int]]:
        spans = sorted(idx, key=lambda i: boxes[i][lo])
        groups: list[list[int]] = [[spans[0]]]
        reach = boxes[spans[0]][hi]
        for i in spans[1:]:
            if boxes[i][lo] > reach:
                groups.append([])
            groups[-1].append(i)
            reach = max(reach, boxes[i][hi])
        return groups

    def cut(idx: list[int]) -> list[int]:
        if len(idx) <= 1:
            return idx
        columns = split(idx, 0, 2)
        if len(columns) > 1:
            return [i for col in columns for i in cut(col)]
        bands = split(idx, 1, 3)
        if len(bands) == 1:
            return sorted(idx, key=lambda i: (boxes[i][1], boxes[i][0]))
        groups: list[list[int]] = []
        previous_has_columns = False
        for band in bands:
            has_columns = len(split(band, 0, 2)) > 1
            if has_columns and previous_has_columns:
                groups[-1].extend(band)
            else:
                groups.append(list(band))
            previous_has_columns = has_columns
        if len(groups) == 1:
            groups = bands
        return [i for group in groups for i in cut(group)]

    return cut(list(range(len(boxes))))


def block_text(block: list[OcrLine]) -> str:
    """The text of a block: its lines joined with spaces, end-of-line hyphens joined."""
    out = ""
    for ln in block:
        text = ln.text.strip()
        if not out:
            out = text
        elif out.endswith("-") and len(out) > 1 and out[-2].isalpha() and text[:1].islower():
            out = out[:-1] + text
        else:
            out += " " + text
    return out


def block_bbox(block: list[OcrLine], scale: float = 1.0) -> tuple[float, float, float, float]:
    """Union bbox of a block's lines, divided by ``scale`` (pixels → points for PDF pages)."""
    return (
        min(b.bbox[0] for b in block) / scale,
        min(b.bbox[1] for b in block) / scale,
        max(b.bbox[2] for b in block) / scale,
        max(b.bbox[3] for b in block) / scale,
    )
