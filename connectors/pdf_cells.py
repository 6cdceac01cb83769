"""A found PDF table, and the cell-text rules its detectors share: figures, leaders, header rows."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from connectors.pdf_layout import Word


@dataclass
class FoundTable:
    """A table found on a page: cell rows, its box, how many header rows, the method that found it."""

    rows: list[list[str]]
    bbox: tuple[float, float, float, float]
    header_rows: int = 1
    method: str = ""
    words: list[Word] = field(default_factory=list)


_NUMERIC = re.compile(r"^[\(\[]?[-+–−±$€£%*<>≤≥~]*[\d][\d.,:/%‰*–\-]*[\)\]]?[%*†‡a-z]?$")
_LEADER = re.compile(r"^(?:[.·…_\-–—=]\s?){3,}$")
_TRAILING_LEADER = re.compile(r"(?:\s?[.·…]){3,}$")
_NOT_A_VALUE = frozenset({"-", "–", "—", "n/a", "na", "NA", "(X)", "*", "..", "x"})
_DIGIT = re.compile(r"\d")


def is_numeric(text: str) -> bool:
    """A figure (or a placeholder for a missing one) rather than words."""
    if _DIGIT.search(text) is None:
        return text in _NOT_A_VALUE
    return bool(_NUMERIC.match(text))


def drop_leaders(words: list[Word]) -> list[Word]:
    """Remove dot leaders and rules typed as text ("......", "-----"); trim leaders off words."""
    out = []
    for w in words:
        if _LEADER.match(w.text):
            continue
        m = _TRAILING_LEADER.search(w.text)
        if m and m.start() > 0:
            keep = w.text[: m.start()].rstrip()
            x1 = w.x0 + (w.x1 - w.x0) * len(keep) / max(len(w.text), 1)
            w = Word(keep, w.x0, w.top, x1, w.bottom, w.index)
        out.append(w)
    return out


def tidy(rows: list[list[str]]) -> list[list[str]]:
    """Rows without the rows and columns that are empty throughout."""
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    keep = [c for c in range(len(rows[0])) if any(row[c] for row in rows)]
    return [[row[c] for c in keep] for row in rows]


def header_rows(rows: list[list[str]]) -> int:
    """Rows above the first row whose values (after the first column) are mostly figures; 1..4."""
    for i, row in enumerate(rows):
        values = [c for c in row[1:] if c]
        if values and sum(1 for c in values if all(is_numeric(t) for t in c.split())) >= 0.5 * len(values):
            return min(max(i, 1), 4)
    return 1
