"""Ruled tables on a PDF page: cells from the grid that its rules form (pdfplumber's grid logic)."""
from __future__ import annotations

import statistics
from typing import Any

from connectors.pdf_cells import FoundTable, drop_leaders, header_rows, is_numeric, tidy
from connectors.pdf_layout import Word


def lattice_tables(words: list[Word], strokes: list[tuple[float, float, float, float]]) -> list[FoundTable]:
    """Ruled tables: cells from the grid that the page's rules form (pdfplumber's grid logic)."""
    edges: list[dict[str, Any]] = []  # pdfplumber's edge objects
    for x0, top, x1, bottom in strokes:
        w, h = x1 - x0, bottom - top
        if w < 2.5 and h >= 4:
            x = (x0 + x1) / 2
            edges.append({"orientation": "v", "x0": x, "x1": x, "top": top, "bottom": bottom})
        elif h < 2.5 and w >= 4:
            y = (top + bottom) / 2
            edges.append({"orientation": "h", "x0": x0, "x1": x1, "top": y, "bottom": y})
    n_v = sum(e["orientation"] == "v" for e in edges)
    n_h = len(edges) - n_v
    if n_v < 2 or n_h < 2 or n_v * n_h > 4_000_000:
        return []  # no grid, or so many strokes (a plot, a map) that intersecting them is too slow
    from pdfplumber import table as pdfplumber_table

    for e in edges:
        e.update(width=e["x1"] - e["x0"], height=e["bottom"] - e["top"], doctop=e["top"],
                 y0=-e["bottom"], y1=-e["top"], object_type="line")
    edges = pdfplumber_table.merge_edges(edges, 3, 3, 3, 3)
    intersections = pdfplumber_table.edges_to_intersections(edges, 3, 3)
    cells = pdfplumber_table.intersections_to_cells(intersections)
    found = []
    for group in pdfplumber_table.cells_to_tables(cells):
        # pdfplumber's stub wants the Page a table is on; only its text extraction uses it, not ``rows``
        grid = pdfplumber_table.Table(None, group).rows  # type: ignore[arg-type]
        if len(grid) < 2 or len(grid[0].cells) < 2:
            continue
        x0 = min(c[0] for c in group)
        top = min(c[1] for c in group)
        x1 = max(c[2] for c in group)
        bottom = max(c[3] for c in group)
        inside = [w for w in words if x0 <= (w.x0 + w.x1) / 2 <= x1 and top <= (w.top + w.bottom) / 2 <= bottom]
        if not inside:
            continue
        text_words = drop_leaders(inside)
        rows = []
        complete = True
        for row in grid:
            cells_text = []
            for cell in row.cells:
                if cell is None:
                    cells_text.append("")
                    continue
                cw = [w for w in text_words if cell[0] <= (w.x0 + w.x1) / 2 <= cell[2]
                      and cell[1] <= (w.top + w.bottom) / 2 <= cell[3]]
                lines = _cell_lines(cw)
                if not _plausible_cell(lines):
                    complete = False
                    break
                cells_text.append(" ".join(w.text for line in lines for w in line))
            if not complete:
                break
            rows.append(cells_text)
        rows = tidy(rows)
        if not complete or sum(1 for r in rows if sum(1 for c in r if c) >= 2) < 2:
            continue  # rules that do not separate all cells: leave it to the stream method
        found.append(FoundTable(rows=rows, bbox=(x0, top, x1, bottom), header_rows=header_rows(rows),
                                method="lattice", words=inside))
    return found


def _cell_lines(words: list[Word]) -> list[list[Word]]:
    """Words of one cell as text lines, top to bottom, each left to right."""
    lines: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (w.top + w.bottom) / 2):
        if lines and abs((lines[-1][-1].top + lines[-1][-1].bottom) / 2 - (w.top + w.bottom) / 2) < 0.5 * w.height:
            lines[-1].append(w)
        else:
            lines.append([w])
    return [sorted(line, key=lambda w: w.x0) for line in lines]


def _plausible_cell(lines: list[list[Word]]) -> bool:
    """A real grid cell holds wrapped text, not several columns or rows of figures."""
    numeric_lines = 0
    for line in lines:
        h = statistics.median(w.height for w in line)
        if any(b.x0 - a.x1 > 1.2 * h for a, b in zip(line, line[1:])):
            return False  # a missing vertical rule: two columns share this cell
        if all(is_numeric(w.text) for w in line):
            numeric_lines += 1
    return numeric_lines < 3  # rows of figures in one cell: missing horizontal rules
