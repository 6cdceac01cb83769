"""Dates and numbers stated in a text, with their char spans and comparable values, for short answers
and for deciding comparisons ("born earlier", "more species"). Regular expressions: the forms English
prose writes (``18 March 1957``, ``March 18, 1957``, ``1957``, ``(1912–2003)``, ``8,035 m``, ``seven``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_MONTH = {m: i + 1 for i, m in enumerate(_MONTHS)} | {m[:3]: i + 1 for i, m in enumerate(_MONTHS)} | {"sept": 9}
_M = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|" \
     r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
_Y = r"(?:1[0-9]{3}|20[0-9]{2})"
YEAR = re.compile(_Y)  # a year (1000-2099), also inside "1990s"
_DATE = re.compile(
    rf"\b(?:(?P<d1>\d{{1,2}})\s+(?P<m1>{_M}),?\s+(?P<y1>{_Y})"  # 18 March 1957
    rf"|(?P<m2>{_M})\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y2>{_Y})"  # March 18, 1957
    rf"|(?P<m3>{_M}),?\s+(?P<y3>{_Y})"  # March 1957
    rf"|(?P<y4>{_Y})s?)\b(?!\s*(?:m|km|ft|feet|metres|meters|people|members|species)\b)"
)
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
          "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
          "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
          "hundred": 100, "thousand": 1000}
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_NUMBER = re.compile(
    r"(?<![\w.])(?P<n>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?:\s*(?P<scale>thousand|million|billion|trillion))?"
    r"(?:\s*(?P<unit>%|per cent|percent|[a-zA-Z]+))?"
    r"|\b(?P<w>(?-i:" + "|".join(_WORDS) + r"))\b(?:\s+(?P<wunit>[a-zA-Z]+))?",
    re.IGNORECASE,
)
_UNIT_STOP = {"and", "or", "of", "the", "a", "in", "on", "at", "to", "by", "for", "with", "from", "was", "is", "are",
              "were", "as", "that", "which", "he", "she", "it", "they", "his", "her", "its", "their"}
_LIFE = re.compile(rf"\((?:[^()]*?\b)?(?P<born>{_Y})\s*[–—-]\s*(?:[^()]*?\b)?(?P<died>{_Y})\)")


@dataclass(frozen=True)
class Fact:
    """A date or number in a text: its span, the text, and a value that orders ("1957-03-18" as
    (1957, 3, 18); 8035.0)."""

    start: int
    end: int
    text: str
    kind: str  # "date" | "number"
    value: tuple[float, ...]


def dates(text: str) -> list[Fact]:
    """Every date in ``text``, in order (a bare year is a date)."""
    out: list[Fact] = []
    for m in _DATE.finditer(text):
        g = m.groupdict()
        year = int(g["y1"] or g["y2"] or g["y3"] or g["y4"])
        month_name = (g["m1"] or g["m2"] or g["m3"] or "").lower().rstrip(".")
        month = _MONTH.get(month_name, 0)
        day = int(g["d1"] or g["d2"] or 0)
        out.append(Fact(m.start(), m.end(), m.group(0), "date", (float(year), float(month), float(day))))
    return out


def numbers(text: str) -> list[Fact]:
    """Every number in ``text`` that is not part of a date, with the word after it (its unit) in the
    span when that word is not a function word ("seven members", "8,035 metres")."""
    taken = [(d.start, d.end) for d in dates(text)]
    out: list[Fact] = []
    for m in _NUMBER.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        if m.group("w"):
            value = float(_WORDS[m.group("w").lower()])
            unit = m.group("wunit")
        else:
            value = float(m.group("n").replace(",", "")) * _SCALE.get((m.group("scale") or "").lower(), 1.0)
            unit = m.group("unit")
        if unit and unit.lower() in ("st", "nd", "rd", "th"):
            continue  # an ordinal ("13th") ranks, it does not count
        end = m.end()
        if unit and unit.lower() in _UNIT_STOP:
            end = m.start("unit") if m.group("unit") else m.start("wunit")
            end = len(text[:end].rstrip()) if end > m.start() else m.end()
        out.append(Fact(m.start(), end, text[m.start():end], "number", (value,)))
    return out


def lifespan(text: str) -> float | None:
    """Years lived from "(1912–2003)"-style dates in ``text`` (None when none are given)."""
    m = _LIFE.search(text)
    if not m:
        return None
    born, died = int(m.group("born")), int(m.group("died"))
    return float(died - born) if 0 < died - born < 130 else None
