"""Sentence splitting with character offsets, and the small text helpers shared by generation.

Rule-based and deterministic: splits after ``.``, ``!``, ``?`` (optionally followed by quotes or
brackets) when the next word starts like a sentence, and at blank lines; it does not split after common
abbreviations, initials or inside decimals.
"""

from __future__ import annotations

import re

_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "sr",
    "jr",
    "st",
    "mt",
    "ft",
    "no",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "cf",
    "al",
    "approx",
    "inc",
    "ltd",
    "co",
    "corp",
    "dept",
    "est",
    "fig",
    "gen",
    "gov",
    "lt",
    "col",
    "sgt",
    "capt",
    "rev",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "u.s",
    "u.k",
    "u.n",
    "a.m",
    "p.m",
    "op",
    "vol",
    "pp",
    "ed",
    "eds",
    "ca",
}
# A sentence end: terminal punctuation, optional closing quotes/brackets, then whitespace.
_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)")
_BLANK = re.compile(r"\n\s*\n")
_TOKEN = re.compile(r"\w+(?:[.'’]\w+)*", re.UNICODE)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return ``[start, end)`` spans of the sentences in ``text`` (whitespace trimmed, none empty)."""
    spans: list[tuple[int, int]] = []
    for block_start, block_end in _blocks(text):
        start = block_start
        for match in _END.finditer(text, block_start, block_end):
            end = match.end()
            if not _is_boundary(text, match.start(), end, block_end):
                continue
            _add(spans, text, start, end)
            start = end
        _add(spans, text, start, block_end)
    return spans


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` as strings."""
    return [text[s:e] for s, e in split_sentences(text)]


def _blocks(text: str) -> list[tuple[int, int]]:
    """Split at blank lines, and at single line breaks after a heading-like line or before a list item."""
    cuts: list[tuple[int, int]] = [(m.start(), m.end()) for m in _BLANK.finditer(text)]
    for match in re.finditer(r"\n", text):
        pos = match.start()
        line_start = text.rfind("\n", 0, pos) + 1
        line = text[line_start:pos].strip()
        rest = text[pos + 1 : pos + 4].lstrip()
        heading_like = 0 < len(line) < 50 and line[-1] not in ",;:-("
        ends_sentence = bool(line) and line[-1] in ".!?:"
        list_item = bool(re.match(r"([-*•#]|\d+[.)])\s", text[pos + 1 : pos + 6].lstrip()))
        if heading_like or ends_sentence or list_item or line.startswith(("#", "|")) or rest.startswith("|"):
            cuts.append((pos, pos + 1))
    cuts.sort()
    out, start = [], 0
    for cut_start, cut_end in cuts:
        if cut_start < start:
            continue
        out.append((start, cut_start))
        start = cut_end
    out.append((start, len(text)))
    return out


def _add(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start and any(ch.isalnum() for ch in text[start:end]):
        spans.append((start, end))
    elif end > start and spans:  # stray punctuation: glue to the previous sentence
        spans[-1] = (spans[-1][0], end)


def _is_boundary(text: str, punct_start: int, end: int, limit: int) -> bool:
    nxt = end
    while nxt < limit and text[nxt].isspace():
        nxt += 1
    if nxt >= limit:
        return True
    follower = text[nxt]
    if text[punct_start] == ".":
        word_match = re.search(r"([\w.]+)$", text[max(0, punct_start - 20) : punct_start])
        word = word_match.group(1).lower() if word_match else ""
        if word in _ABBREVIATIONS or word.rstrip(".") in _ABBREVIATIONS:
            return False
        if len(word) == 1 and word.isalpha() and text[punct_start - 1].isupper():  # an initial: "J. Smith"
            return False
    # The next sentence starts with an upper-case letter, a digit, a quote, a bracket or a citation.
    return follower.isupper() or follower.isdigit() or follower in "\"'“‘([*-•"


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return [t.lower() for t in _TOKEN.findall(text)]


STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each either few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself neither no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who whom
    whose why will with would you your yours yourself yourselves one ones s t also may might must shall
    yes within without upon via per among around across along toward towards since though although
    whether yet well still even ever many much several known called named""".split()
)


def stem(token: str) -> str:
    """A light suffix stripper, enough to match plurals and simple verb forms."""
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3 and not token.endswith("ss"):
            return token[: -len(suffix)] + keep
    return token


def content_terms(text: str) -> list[str]:
    """Stemmed non-stopword tokens of ``text`` (in order, duplicates kept)."""
    return [stem(t) for t in tokens(text) if t not in STOPWORDS and (len(t) > 1 or t.isdigit())]
