"""Table detection for PDF pages from positioned words: ruled grids first, then aligned text.

Coordinates are PDF points with a top-left origin: ``(x0, top, x1, bottom)``.

Ruled tables come from :mod:`connectors.pdf_lattice`. Unruled ones are found here,
hand-written on PDFium words because the libraries that find unruled tables either work on
pdfminer layouts (camelot, pdfplumber: 20-50x slower to parse) or turn prose into tables
(camelot stream, pdfplumber's text strategy): here whole-page text alignment is analysed
and prose-like regions are rejected.
"""
from __future__ import annotations

import re
import statistics
from collections.abc import Callable

from connectors.pdf_cells import FoundTable, drop_leaders, header_rows, is_numeric, tidy
from connectors.pdf_lattice import lattice_tables
from connectors.pdf_layout import VLine, Word, split_segments, visual_lines

_CAPTION = re.compile(r"^(table|tab\.|exhibit|figure|fig\.|chart|source|sources|note|notes)\b", re.I)
_MARKER = re.compile(r"^(?:[•◦▪●○■□‣⁃*†‡§\-–—]|\(?[0-9]{1,2}[.)]|\(?[a-zA-Z][.)]|[a-z])$")


def find_tables(
    words: list[Word],
    width: float,
    height: float,
    segments: Callable[[], list[tuple[float, float, float, float]]] | None = None,
) -> list[FoundTable]:
    """Tables on one page, ruled ones first (``segments()``: the page's strokes, asked on demand)."""
    words = [w for w in words if not w.vertical]
    if len(words) < 4:
        return []
    tables = lattice_tables(words, segments() if segments is not None else [])
    if tables:
        inside = {id(w) for t in tables for w in t.words}
        words = [w for w in words if id(w) not in inside]
    clean = drop_leaders(words)
    lines = _split_text_columns(visual_lines(clean), width)
    for region in _regions(lines, width):
        table = _build(region)
        if table is None:
            continue
        x0, top, x1, bottom = table.bbox
        table.words = [w for w in words if x0 - 1 <= (w.x0 + w.x1) / 2 <= x1 + 1
                       and top - 1 <= (w.top + w.bottom) / 2 <= bottom + 1]
        tables.append(table)
    return tables


def _split_text_columns(lines: list[VLine], width: float) -> list[VLine]:
    """Cut a column of running text off lines that it shares with a table beside it.

    A text column is found from prose segments that start at the same x; on lines that also
    have words outside it, the words inside it are dropped (they belong to the prose).
    """
    starts: dict[int, list[tuple[list[Word], VLine]]] = {}
    for ln in lines:
        for seg in ln.segments:
            if _is_prose_segment(seg, width):
                starts.setdefault(round(seg[0].x0 / 3), []).append((seg, ln))
    columns = []
    for key, found in starts.items():
        found = found + starts.get(key - 1, []) + starts.get(key + 1, [])
        if len(found) < 3:
            continue
        right = statistics.median(_seg_box(seg)[1] for seg, _ in found)
        left = min(seg[0].x0 for seg, _ in found)
        if right - left > 0.6 * width:
            continue  # full-width text: not a column of a multi-column layout
        # a column is a vertical run of its lines, each ending near the column's right edge
        found = sorted((item for item in found if abs(_seg_box(item[0])[1] - right) < 0.1 * (right - left)),
                       key=lambda item: item[1].top)
        run: list[VLine] = []
        ends: list[VLine | None] = [item[1] for item in found] + [None]  # None: the last run ends
        for nxt in ends:
            if nxt is not None and (not run or nxt.top - run[-1].bottom < 2.5 * nxt.height):
                if not run or nxt is not run[-1]:
                    run.append(nxt)
                continue
            if len(run) >= 3:
                top, bottom = run[0].top, run[-1].bottom
                beside = any(top <= x.top and x.bottom <= bottom
                             and any(w.x1 < left - 2 or w.x0 > right + 3 for w in x.words) for x in lines)
                if beside:
                    columns.append((left, right, top, bottom))
            run = [nxt] if nxt is not None else []
    if not columns:
        return lines
    out = []
    for ln in lines:
        words = ln.words
        for left, right, top, bottom in columns:
            if top - 2 <= ln.top and ln.bottom <= bottom + 2:
                words = [w for w in words if not (w.x0 >= left - 2 and w.x1 <= right + 3)]
        if words is not ln.words:
            if not words:
                continue
            ln = VLine(words)
            split_segments(ln)
        out.append(ln)
    return out


def _is_prose_segment(seg: list[Word], width: float) -> bool:
    x0, x1 = _seg_box(seg)
    return sum(1 for w in seg if not is_numeric(w.text)) >= 6 and x1 - x0 > 0.25 * width


def _seg_box(seg: list[Word]) -> tuple[float, float]:
    return seg[0].x0, max(w.x1 for w in seg)


def _is_prose_line(ln: VLine, width: float) -> bool:
    """Running text: a segment of many words spanning a good part of the page (or a list item)."""
    for seg in ln.segments:
        if _is_prose_segment(seg, width):
            return True
        n_text = sum(1 for w in seg if not is_numeric(w.text))
        if n_text >= 5 and len(ln.segments) == 2 and _MARKER.match(ln.segments[0][0].text) \
                and len(ln.segments[0]) == 1:
            return True
    return False


def _is_candidate(ln: VLine, width: float) -> bool:
    if _is_prose_line(ln, width):
        return False
    if len(ln.segments) >= 2:
        return True
    return sum(1 for w in ln.words if is_numeric(w.text)) >= 3


def _regions(lines: list[VLine], width: float) -> list[list[VLine]]:
    """Runs of table-like lines (short lines allowed inside), extended upwards by header lines."""
    regions: list[list[VLine]] = []
    n = len(lines)
    i = 0
    taken = -1
    while i < n:
        if not _is_candidate(lines[i], width):
            i += 1
            continue
        run = [i]
        j = i + 1
        misses = 0
        while j < n:
            cur, prev = lines[j], lines[run[-1]]
            if cur.top - prev.bottom > 2.5 * max(prev.height, 1.0):
                break
            if _is_candidate(cur, width):
                misses = 0
            else:
                misses += 1
                if misses > 2 or _is_prose_line(cur, width) or len(cur.words) > 10 \
                        or _CAPTION.match(cur.words[0].text):
                    break
            run.append(j)
            j += 1
        while run and not _is_candidate(lines[run[-1]], width):
            run.pop()
        # header lines just above: short, close, not a caption or prose
        k = run[0] - 1
        while k > taken and run[0] - k <= 6:
            cur, below = lines[k], lines[run[0]]
            if below.top - cur.bottom > 1.5 * max(cur.height, 1.0) or _is_prose_line(cur, width) \
                    or _CAPTION.match(cur.words[0].text) or len(cur.words) > 12:
                break
            above = lines[k - 1] if k > 0 else None
            if above is not None and len(cur.segments) == 1 and cur.top - above.bottom < 0.5 * cur.height \
                    and (_CAPTION.match(above.words[0].text) or _is_prose_line(above, width)):
                break  # the last line of a caption or paragraph, not a header
            run.insert(0, k)
            k -= 1
        regions.append([lines[k] for k in run])
        taken = run[-1]
        i = run[-1] + 1
    return regions


def _gutters(lines: list[VLine], min_gap: float) -> list[tuple[float, float]]:
    """X-ranges that no word of ``lines`` covers and that are at least ``min_gap`` wide."""
    spans = sorted((w.x0, w.x1) for ln in lines for w in ln.words)
    out = []
    reach = spans[0][1]
    for x0, x1 in spans[1:]:
        if x0 - reach >= min_gap:
            out.append((reach, x0))
        reach = max(reach, x1)
    return out


def _build(lines: list[VLine]) -> FoundTable | None:
    most = max(len(ln.segments) for ln in lines)
    body = [ln for ln in lines if len(ln.segments) >= max(2, 0.6 * most)]
    if len(body) < 2:
        return None
    h = statistics.median(ln.height for ln in body)
    gutters = _gutters(body, 0.25 * h)
    if not gutters:
        return None
    left = min(w.x0 for ln in lines for w in ln.words)
    right = max(w.x1 for ln in lines for w in ln.words)
    bounds = [left - 1] + [(a + b) / 2 for a, b in gutters] + [right + 1]
    ncols = len(bounds) - 1

    def col_of(x: float) -> int:
        for c in range(ncols):
            if x < bounds[c + 1]:
                return c
        return ncols - 1

    grid: list[list[list[Word]]] = []
    for ln in lines:
        cells: list[list[Word]] = [[] for _ in range(ncols)]
        for seg in ln.segments:
            cols = {col_of((w.x0 + w.x1) / 2) for w in seg}
            straddles = any(col_of(w.x0) != col_of(w.x1) for w in seg)
            if len(cols) > 1 and straddles:
                cells[min(cols)].extend(seg)  # a spanning cell (e.g. a header over columns)
            else:
                for w in seg:
                    cells[col_of((w.x0 + w.x1) / 2)].append(w)
        grid.append(cells)
    grid, ncols = _merge_phrase_columns(grid, ncols, h)
    if ncols < 2:
        return None
    rows = tidy([[" ".join(w.text for w in cell) for cell in cells] for cells in grid])
    if not rows or len(rows[0]) < 2 or not _looks_tabular(rows):
        return None
    used = [w for ln in lines for w in ln.words]
    bbox = (min(w.x0 for w in used), min(w.top for w in used),
            max(w.x1 for w in used), max(w.bottom for w in used))
    return FoundTable(rows=rows, bbox=bbox, header_rows=header_rows(rows), method="stream", words=used)


def _merge_phrase_columns(grid: list[list[list[Word]]], ncols: int, h: float) -> tuple[list[list[list[Word]]], int]:
    """Join neighbouring columns whose words are only ever a phrase apart (one split text column)."""
    c = 0
    while c < ncols - 1:
        both = [(cells[c], cells[c + 1]) for cells in grid if cells[c] and cells[c + 1]]
        numeric = sum(1 for a, b in both if is_numeric(a[-1].text) and is_numeric(b[0].text))
        phrase = both and all(b[0].x0 - a[-1].x1 < 0.45 * h for a, b in both) and numeric < len(both) / 2
        if phrase:
            for cells in grid:
                cells[c] = cells[c] + cells[c + 1]
                del cells[c + 1]
            ncols -= 1
        else:
            c += 1
    return grid, ncols


def _looks_tabular(rows: list[list[str]]) -> bool:
    """Reject prose and lists that happen to align: tables have short cells or many numbers."""
    cells = [c for row in rows for c in row if c]
    filled = [sum(1 for c in row if c) for row in rows]
    if sum(1 for f in filled if f >= 2) < 2:
        return False
    words = statistics.fmean(len(c.split()) for c in cells)
    numeric = sum(1 for c in cells if all(is_numeric(t) for t in c.split())) / len(cells)
    if words > 4.5 and numeric < 0.3:
        return False
    single = sum(1 for c in cells if len(c) == 1 and not c.isdigit()) / len(cells)
    if single > 0.35 and numeric < 0.5:
        return False  # letters of rotated or scattered text, not cells
    if len(rows) < 3 and words >= 2.5 and numeric < 0.2:
        return False  # two lines of text side by side
    phrases = [c for c in cells if len(c.split()) >= 2 and not is_numeric(c.split()[0])]
    if numeric < 0.2 and len(phrases) >= 4 and sum(1 for c in phrases if c[0].islower()) > 0.4 * len(phrases):
        return False  # sentences cut into pieces: prose in columns
    texts = [c for c in cells if not all(is_numeric(t) for t in c.split())]
    if numeric < 0.5 and texts and statistics.fmean(len(c.split()) for c in texts) >= 4.0:
        return False  # long runs of words: text columns
    pairs = continued = 0
    for col in zip(*rows):
        for a, b in zip(col, col[1:]):
            if a and b and len(a.split()) >= 2 and not is_numeric(a.split()[0]):
                pairs += 1
                continued += b[0].islower()
    if numeric < 0.5 and pairs >= 2 and continued >= 0.5 * pairs:
        return False  # cells that continue each other's sentences: a text column
    ncols = len(rows[0])
    if ncols == 2:
        firsts = [row[0] for row in rows if row[0]]
        if firsts and sum(1 for c in firsts if _MARKER.match(c)) > 0.5 * len(firsts):
            return False  # a bulleted or numbered list
    return True
