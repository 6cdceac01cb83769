"""Words of a PDF page from PDFium's characters, boxed in the displayed page's top-left frame."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from connectors.pdf_layout import Word

if TYPE_CHECKING:
    import pypdfium2

_TOKEN = re.compile(r"[^\s\x00\x02\u200b\ufeff]+?(?:[\ufffe\xad]|(?=[\s\x00\x02\u200b\ufeff])|$)")


def text_rotation(textpage: pypdfium2.PdfTextPage, n: int, page_rotation: int) -> int:
    """The rotation that makes most of the page's text horizontal (0, 90, 180 or 270).

    Usually the page's /Rotate (landscape pages whose text is drawn turned); decided from the
    characters' angles so that a page turned by /Rotate alone still reads left to right.
    """
    import math

    import pypdfium2.raw as raw

    votes: dict[int, int] = {}
    step = max(n // 200, 1)
    for i in range(0, n, step):
        angle = raw.FPDFText_GetCharAngle(textpage.raw, i)
        if angle >= 0:
            quarter = round(math.degrees(angle) / 90) % 4 * 90
            votes[quarter] = votes.get(quarter, 0) + 1
    if not votes:
        return page_rotation
    angle = max(votes.items(), key=lambda kv: kv[1])[0]
    return (360 - angle) % 360


def to_top_left(rotation: int, left: float, bottom: float, right: float, top: float
                ) -> Callable[[float, float, float, float], tuple[float, float, float, float]]:
    """Map PDFium boxes ``(l, b, r, t)`` to the displayed page: ``(x0, top, x1, bottom)``.

    Honours the crop box and the page's /Rotate, so text on landscape pages reads upright.
    """
    w, h = right - left, top - bottom
    if rotation == 90:
        return lambda l, b, r, t: (b - bottom, l - left, t - bottom, r - left)
    if rotation == 180:
        return lambda l, b, r, t: (w - (r - left), b - bottom, w - (l - left), t - bottom)
    if rotation == 270:
        return lambda l, b, r, t: (h - (t - bottom), w - (r - left), h - (b - bottom), w - (l - left))
    return lambda l, b, r, t: (l - left, top - t, r - left, top - b)


def page_words(textpage: pypdfium2.PdfTextPage, n: int,
               frame: Callable[[float, float, float, float], tuple[float, float, float, float]]) -> list[Word]:
    """Words from PDFium characters in stream order (PDFium inserts spaces and line breaks).

    A word's box comes from its first and last characters; only words whose two ends disagree
    (another line, too wide for their length) are measured character by character and split at
    gaps. Hand-written (rather than pdfplumber's word extractor) to stay on PDFium, which is
    20-50x faster than pdfminer; one ctypes call per character would dominate the run time.
    Boxes are in the displayed page's top-left frame (see ``to_top_left``).
    """
    import ctypes

    import pypdfium2.raw as raw

    tp = textpage.raw
    text = textpage.get_text_range() if n else ""
    if len(text) != n:  # inserted/excluded characters or surrogate pairs: map one by one
        text = "".join(chr(c) if 0 < (c := raw.FPDFText_GetUnicode(tp, i)) < 0x110000 else "\x00"
                       for i in range(n))
    rect = raw.FS_RECTF()
    rect_ref = ctypes.byref(rect)
    get_box = raw.FPDFText_GetLooseCharBox
    words: list[Word] = []

    def box(i: int) -> tuple[float, float, float, float] | None:
        if not get_box(tp, i, rect_ref) or (rect.right <= rect.left and rect.top <= rect.bottom):
            return None
        return frame(rect.left, rect.bottom, rect.right, rect.top)

    def add(chars: str, i: int, x0: float, t: float, x1: float, b: float) -> None:
        chars = chars.replace("\ufffe", "-").replace("\xad", "-")  # PDFium's end-of-line hyphen
        words.append(Word(chars, x0, t, x1, b, i))

    for m in _TOKEN.finditer(text):
        s, e = m.span()
        first = box(s)
        if first is not None:
            last = first if e - s == 1 else box(e - 1)
            if last is not None:
                x0, t, _, b = first
                _, t2, x1, b2 = last
                h = min(b - t, b2 - t2)
                if h < 0.1:
                    h = 0.1
                overlap = (b if b < b2 else b2) - (t if t > t2 else t2)
                if overlap >= 0.5 * h and x0 <= x1 and (x1 - x0) <= 1.1 * h * (e - s) + 0.5 * h:
                    word = m.group()
                    if word[-1] in "\ufffe\xad":  # PDFium's mark for an end-of-line hyphen
                        word = word[:-1] + "-"
                    words.append(Word(word, x0, t if t < t2 else t2, x1, b if b > b2 else b2, s))
                    continue
        # the ends disagree: measure every character and split where the geometry jumps
        chars: list[str] = []
        start = s
        wx0 = wt = wx1 = wb = 0.0
        prev: tuple[float, float, float, float] | None = None
        for i in range(s, e):
            bx = box(i)
            if bx is None:
                continue
            x0, t, x1, b = bx
            if prev is not None:
                h = max(min(b - t, prev[3] - prev[1]), 0.1)
                overlap = min(b, prev[3]) - max(t, prev[1])
                gap = x0 - prev[2]
                if chars and (overlap < 0.3 * h or gap > 0.25 * h or gap < -1.5 * h):
                    add("".join(chars), start, wx0, wt, wx1, wb)
                    chars = []
            if not chars:
                start, wx0, wt, wx1, wb = i, x0, t, x1, b
            else:
                wx0, wt, wx1, wb = min(wx0, x0), min(wt, t), max(wx1, x1), max(wb, b)
            chars.append(text[i])
            prev = bx
        if chars:
            add("".join(chars), start, wx0, wt, wx1, wb)
    return words


def join_vertical(words: list[Word]) -> list[Word]:
    """Merge runs of single rotated characters (stacked, touching) into one vertical word.

    PDFium reports text that runs up or down the page one character per line; a rotated glyph's
    box is wider than tall. Consecutive such boxes that overlap horizontally and touch vertically
    are one word (e.g. a "VerDate ..." margin stamp), flagged ``vertical``.
    """
    out: list[Word] = []
    run: list[Word] = []

    def flush() -> None:
        if len(run) >= 2:
            out.append(Word("".join(w.text for w in run), min(w.x0 for w in run), min(w.top for w in run),
                            max(w.x1 for w in run), max(w.bottom for w in run), run[0].index, True))
        else:
            out.extend(run)
        run.clear()

    for w in words:
        rotated = len(w.text) == 1 and (w.x1 - w.x0) > 1.2 * (w.bottom - w.top)
        if rotated and run:
            p = run[-1]
            overlap = min(w.x1, p.x1) - max(w.x0, p.x0)
            touching = min(abs(w.top - p.bottom), abs(p.top - w.bottom)) < 0.3 * (w.x1 - w.x0)
            if overlap > 0.8 * min(w.x1 - w.x0, p.x1 - p.x0) and touching:
                run.append(w)
                continue
        flush()
        if rotated:
            run.append(w)
        else:
            out.append(w)
    flush()
    return out
