"""Citation markers: parse ``[n]``, ``[n, m]``, ``[n-m]``; split answers into cited sentences; map numbers
to the exact passage (source, page, heading, character span, quote)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ragkit.generation.prompt import ContextBlock
from ragkit.generation.sentences import split_sentences
from ragkit.types import Citation, markers

_LIST = r"\d+(?:\s*(?:,|;|-|–|—|and|&)\s*\d+)*"
MARKER = re.compile(r"\[\s*(?:(?:passage|source|context|doc)s?\s*)?(" + _LIST + r")\s*\]", re.IGNORECASE)
_MARKER_RUN = re.compile(r"^(?:\s*" + MARKER.pattern + r")+", re.IGNORECASE)
MAX_RANGE = 50


def parse_marker(body: str) -> list[int]:
    """Numbers in one marker body: ``"1, 3"`` → [1, 3]; ``"2-4"`` → [2, 3, 4]."""
    out: list[int] = []
    for part in re.split(r"\s*(?:,|;|and|&)\s*", body.strip()):
        bounds = re.split(r"\s*[-–—]\s*", part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit():
            lo, hi = int(bounds[0]), int(bounds[1])
            if lo <= hi and hi - lo <= MAX_RANGE:
                out.extend(range(lo, hi + 1))
            else:
                out.extend([lo, hi])
        elif part.isdigit():
            out.append(int(part))
    return out


def parse_markers(text: str) -> list[int]:
    """All cited numbers in ``text``, unique, in order of appearance."""
    seen: list[int] = []
    for match in MARKER.finditer(text):
        for n in parse_marker(match.group(1)):
            if n not in seen:
                seen.append(n)
    return seen


def strip_markers(text: str) -> str:
    """``text`` without citation markers, spaces before punctuation tidied."""
    cleaned, previous = MARKER.sub("", text), text
    while cleaned != previous:  # "[1[2]]" leaves "[1]" after one pass
        cleaned, previous = MARKER.sub("", cleaned), cleaned
    cleaned = re.sub(r"\s+([.,;:!?])", r"\1", cleaned)
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip()


@dataclass
class DraftSentence:
    """An answer sentence as written: clean text and the numbers it cites."""

    text: str
    cited: list[int] = field(default_factory=list)


_ENUMERATOR = re.compile(r"\(?(\d{1,3}|[a-zA-Z]|[ivxIVX]{1,4})[.)]")
_LEADING_ENUMERATOR = re.compile(r"^\s*\(?\d{1,3}[.)]\s+(?=\S)")


def split_answer(answer: str) -> list[DraftSentence]:
    """Split an answer into sentences with their markers.

    Markers that open a sentence (``"... claim. [2] Next"``) belong to the sentence before them.
    """
    pieces = [answer[s:e] for s, e in split_sentences(answer)]
    out: list[DraftSentence] = []
    carried: list[int] = []  # markers of a list enumerator ("1.") go to the sentence after it
    after_enumerator = False
    for piece in pieces:
        lead = _MARKER_RUN.match(piece)
        if lead and out and not after_enumerator:
            out[-1].cited.extend(n for n in parse_markers(lead.group(0)) if n not in out[-1].cited)
            piece = piece[lead.end() :]
        text = _LEADING_ENUMERATOR.sub("", strip_markers(piece)).strip()
        cited = parse_markers(piece)
        after_enumerator = False
        if _ENUMERATOR.fullmatch(text):
            carried.extend(cited)
            after_enumerator = True
            continue
        if not any(ch.isalnum() for ch in text):
            if out:
                out[-1].cited.extend(n for n in cited if n not in out[-1].cited)
            continue
        if carried:
            cited = carried + [n for n in cited if n not in carried]
            carried = []
        out.append(DraftSentence(text=text, cited=cited))
    return out


def with_markers(text: str, numbers: list[int]) -> str:
    """``"Claim."`` + [1, 2] → ``"Claim [1][2]."`` (markers before the final punctuation)."""
    if not numbers:
        return text
    marks = markers(numbers)
    match = re.search(r"([.!?]+[\"'”’)\]]*)$", text)
    if match:
        return f"{text[: match.start()].rstrip()} {marks}{match.group(1)}"
    return f"{text} {marks}"


def make_citation(block: ContextBlock, quote_spans: list[tuple[int, int]]) -> Citation:
    """The citation of block ``n`` quoting the given ``[start, end)`` spans of its chunk text.

    For text chunks ``span`` is the quote's character span in the document (chunk start + offset); for
    other chunks (tables, images) it is the chunk's span.
    """
    chunk = block.chunk
    spans = _merge(sorted(set(quote_spans)))
    if not spans:
        first = split_sentences(block.text)
        spans = first[:1] if first else [(0, len(block.text))]
    quote = _join_quotes(chunk.text, spans)
    if chunk.kind == "text" and chunk.span[1] - chunk.span[0] == len(chunk.text):
        span = (chunk.span[0] + spans[0][0], chunk.span[0] + spans[-1][1])
    else:
        span = (chunk.span[0], chunk.span[1])
    return Citation(
        n=block.n,
        chunk_id=chunk.chunk_id,
        source=chunk.source,
        page=chunk.page,
        heading=chunk.heading,
        span=(int(span[0]), int(span[1])),
        quote=quote,
    )


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _join_quotes(text: str, spans: list[tuple[int, int]]) -> str:
    parts: list[str] = []
    last_end: int | None = None
    for start, end in spans:
        piece = " ".join(text[start:end].split())
        if last_end is not None:
            parts.append(" " if text[last_end:start].strip() == "" else " … ")
        parts.append(piece)
        last_end = end
    return "".join(parts)


ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "short": {"type": "string"},
        "sentences": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "citations": {"type": "array", "items": {"type": "integer"}},
                },
                "required": ["text", "citations"],
            },
        }
    },
    "required": ["sentences"],
}
JSON_INSTRUCTION = (
    'Reply with JSON only: {"short": "...", "sentences": [{"text": "...", "citations": [n, ...]}]} — "short" '
    "is the answer in a few words, then one entry per sentence, citing the passage numbers that support it."
)


def parse_structured(text: str) -> list[DraftSentence] | None:
    """Sentences from a JSON answer following :data:`ANSWER_SCHEMA` (None when ``text`` is not one)."""
    import json

    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.strip("`").removeprefix("json").strip()
    if not stripped.startswith("{"):
        return None
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError:
        return None
    items = data.get("sentences") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return None
    out: list[DraftSentence] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            continue
        cited = [int(n) for n in item.get("citations") or [] if isinstance(n, (int, float)) or str(n).isdigit()]
        cited += [n for n in parse_markers(item["text"]) if n not in cited]
        clean = strip_markers(item["text"])
        if clean:
            out.append(DraftSentence(text=clean, cited=list(dict.fromkeys(cited))))
    return out
