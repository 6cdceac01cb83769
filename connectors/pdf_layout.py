"""Page layout from positioned words: visual lines, text lines, paragraphs and headings.

Boxes are PDF points with a top-left origin, ``(x0, top, x1, bottom)``.
"""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.pdf_page import Page

SEGMENT_GAP = 0.6  # a gap wider than this many text heights separates cells
_BULLETS = set("•◦▪▫●○■□‣⁃–—*·")
_SENTENCE_END = tuple(".!?:;\"')”’")


@dataclass(slots=True)
class Word:
    """A word on a page: text, box, its first character's index in the page text stream."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    index: int = 0
    vertical: bool = False  # text running up or down the page (margin stamps, rotated labels)

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass
class VLine:
    """A visual text line: words sorted left to right, split into segments at wide gaps."""

    words: list[Word]
    segments: list[list[Word]] = field(default_factory=list)

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def x0(self) -> float:
        return self.words[0].x0

    @property
    def x1(self) -> float:
        return max(w.x1 for w in self.words)

    @property
    def height(self) -> float:
        return statistics.median(w.height for w in self.words)


def visual_lines(words: list[Word]) -> list[VLine]:
    """Words grouped into visual lines across the whole page (top to bottom, left to right)."""
    lines: list[VLine] = []
    recent: list[Word] = []  # the last words of the current line (superscripts sit higher)
    for w in sorted(words, key=lambda w: (w.top + w.bottom) / 2):
        mid = (w.top + w.bottom) / 2
        if recent and min(x.top for x in recent) <= mid <= max(x.bottom for x in recent):
            lines[-1].words.append(w)
            recent = recent[-2:] + [w]
            continue
        lines.append(VLine([w]))
        recent = [w]
    for ln in lines:
        ln.words.sort(key=lambda w: w.x0)
        split_segments(ln)
    return lines


def split_segments(ln: VLine) -> None:
    """Split a visual line into segments at gaps wider than ``SEGMENT_GAP`` text heights."""
    h = ln.height
    ln.segments = []
    seg = [ln.words[0]]
    for prev, w in zip(ln.words, ln.words[1:]):
        if w.x0 - prev.x1 > SEGMENT_GAP * h:
            ln.segments.append(seg)
            seg = []
        seg.append(w)
    ln.segments.append(seg)


class Line:
    """Words on one text line with its box computed once."""

    __slots__ = ("words", "x0", "top", "x1", "bottom", "height", "index", "text", "bold", "hyphen",
                 "vertical", "order")

    def __init__(self, words: list[Word]):
        self.words = words
        self.x0 = min(w.x0 for w in words)
        self.x1 = max(w.x1 for w in words)
        self.top = min(w.top for w in words)
        self.bottom = max(w.bottom for w in words)
        self.height = statistics.median(w.bottom - w.top for w in words)
        self.index = words[0].index  # PDFium character index (font lookups)
        self.order = 0  # reading position of the first word on the page
        self.text = " ".join(w.text for w in words)
        self.bold = False
        self.vertical = all(w.vertical for w in words)
        last = words[-1].text
        # ends with a hyphen that splits a word across lines
        self.hyphen = len(last) > 1 and last.endswith("-") and last[-2].isalpha()


@dataclass
class Para:
    """Lines that form one paragraph or heading, in reading order."""

    lines: list[Line]
    kind: str = "text"

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return (
            round(min(ln.x0 for ln in self.lines), 2),
            round(min(ln.top for ln in self.lines), 2),
            round(max(ln.x1 for ln in self.lines), 2),
            round(max(ln.bottom for ln in self.lines), 2),
        )

    @property
    def height(self) -> float:
        return statistics.median(ln.height for ln in self.lines)

    @property
    def text(self) -> str:
        out = ""
        for i, ln in enumerate(self.lines):
            piece = ln.text
            if i and self.lines[i - 1].hyphen and out.endswith("-"):
                out = out[:-1] + piece  # join a word hyphenated across lines
            else:
                out = f"{out} {piece}" if out else piece
        return out


def text_lines(words: list[Word]) -> list[Line]:
    """Consecutive words that sit on one text line (vertical overlap, moving right) form a line."""
    lines: list[Line] = []
    current: list[Word] = []
    pt = pb = px1 = 0.0
    for w in words:
        if current:
            h = min(w.bottom - w.top, pb - pt)
            if h < 0.1:
                h = 0.1
            overlap = (w.bottom if w.bottom < pb else pb) - (w.top if w.top > pt else pt)
            if overlap < 0.4 * h or w.x0 < px1 - 0.5 * h or w.x0 - px1 > 6 * h:
                lines.append(Line(current))
                current = []
        current.append(w)
        pt, pb, px1 = w.top, w.bottom, w.x1
    if current:
        lines.append(Line(current))
    return lines


def paragraphs(lines: list[Line], body: float) -> list[Para]:
    """Group lines (in stream order) into paragraphs using gaps, indents, size and column jumps."""
    if not lines:
        return []
    gaps = []
    for p, ln in zip(lines, lines[1:]):
        h = max(min(p.height, ln.height), 0.1)
        g = ln.top - p.bottom
        if -0.3 * h < g < 2.5 * h and abs(p.height - ln.height) < 0.2 * h:
            gaps.append(g / h)
    # the usual line spacing on this page (double-spaced text has large gaps everywhere)
    base = sorted(gaps)[len(gaps) // 3] if gaps else 0.0
    base = max(base, 0.0)
    paras: list[Para] = []
    current: list[Line] = [lines[0]]
    x0, x1, bold = lines[0].x0, lines[0].x1, lines[0].bold
    for ln in lines[1:]:
        if _continues(current[-1], ln, base, x0, x1, bold):
            current.append(ln)
            x0, x1, bold = min(x0, ln.x0), max(x1, ln.x1), bold and ln.bold
        else:
            paras.append(Para(current))
            current = [ln]
            x0, x1, bold = ln.x0, ln.x1, ln.bold
    paras.append(Para(current))
    return _join_column_breaks(paras)


def _join_column_breaks(paras: list[Para]) -> list[Para]:
    """Re-join a paragraph that a column break cut: it stops mid-sentence at a column's foot and
    goes on in lower case at the top of the next column, in the same font size."""
    out: list[Para] = []
    for para in paras:
        if out:
            prev = out[-1]
            last, first = prev.lines[-1], para.lines[0]
            moved_up = first.top < last.top - 3 * last.height
            beside = first.x0 > last.x1 - last.height or first.x1 < last.x0 + last.height
            if (moved_up and beside and not last.text.endswith(_SENTENCE_END) and first.text[:1].islower()
                    and abs(first.height - last.height) < 0.15 * last.height and not last.vertical):
                prev.lines.extend(para.lines)
                continue
        out.append(para)
    return out


def _continues(prev: Line, ln: Line, base_gap: float, x0: float, x1: float, all_bold: bool) -> bool:
    """Whether line ``ln`` continues the paragraph whose last line is ``prev`` and x-range x0..x1."""
    if prev.vertical or ln.vertical:  # rotated text (margin stamps) stays apart from body text
        return prev.vertical and ln.vertical and min(ln.x1, prev.x1) > max(ln.x0, prev.x0)
    h = max(min(prev.height, ln.height), 0.1)
    overlap = min(ln.bottom, prev.bottom) - max(ln.top, prev.top)
    if overlap > 0.5 * h and ln.x0 >= prev.x1 - 1:
        return True  # same visual line, further right
    if abs(prev.height - ln.height) > 0.2 * max(prev.height, ln.height):
        return False  # font size change
    gap = ln.top - prev.bottom
    if gap < -0.5 * h or gap > (base_gap + 0.45) * h:
        return False  # moved up (new column) or a paragraph gap
    if ln.x0 > x1 or ln.x1 < x0:
        return False  # no horizontal overlap: another column
    if ln.text[:1] in _BULLETS:
        return False
    if prev.bold != ln.bold and all_bold:
        return False  # a bold run-in line (heading) followed by body text
    ends = prev.text.endswith(_SENTENCE_END)
    if ends and ln.x0 - x0 > 0.8 * h:
        return False  # first-line indent
    right = max(x1, ln.x1)
    if ends and prev.x1 < right - 0.25 * (right - x0):
        return False  # the previous line was the short last line of a paragraph
    return True


def body_height(pages: list[Page]) -> float:
    """The text height most characters have (the body size that headings are ranked against)."""
    sizes: dict[float, int] = {}
    for page in pages:
        for ln in page.lines:
            key = round(ln.height, 1)
            sizes[key] = sizes.get(key, 0) + len(ln.text)
    if not sizes:
        return 10.0
    return max(sizes.items(), key=lambda kv: kv[1])[0]


def heading_level(para: Para, body: float) -> float | None:
    """A heading's rank (its text height; bold body-size headings rank just above body), else None."""
    text = para.text.strip()
    if len(para.lines) > 3 or len(text) > 150 or len(text) < 2 or any(ln.vertical for ln in para.lines):
        return None
    if not any(c.isalpha() for c in text) or text.endswith((".", ",", ";")) and len(para.lines) > 1:
        return None
    size = para.height
    if size >= 1.15 * body:
        return size
    if len(para.lines) == 1 and all(ln.bold for ln in para.lines) and size >= 0.95 * body:
        if len(text) <= 100 and not text.endswith((".", ",", ";", ":")):
            return body * 1.01
    return None


def clean(text: str) -> str:
    """Runs of whitespace made one space, ends stripped."""
    return re.sub(r"\s+", " ", text).strip()
