"""The short answer of an :class:`Answer`: read from the generator's ``Short answer:`` line (LLMs) or
composed from the context (:class:`ShortComposer`, the extractive default), then cited to its span and
verified like every other sentence: a copied span must be where it says in a cited passage, and the
sentences stating its evidence must be supported by their passages."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ragkit.generation.citations import parse_markers, strip_markers
from ragkit.generation.prompt import Prompt
from ragkit.generation.sentences import split_sentences
from ragkit.generation.short import Composed, ShortComposer
from ragkit.generation.verify import Passage, Verifier
from ragkit.types import Sentence, Short

# "Short answer: X [n]" as asked; small models also write "The answer is: X." as their first line
_SHORT_LINE = re.compile(r"^\s*(?:\*\*)?(?:short answer|the answer is)(?:\*\*)?\s*:\s*(?P<text>[^\n]*?)\s*$",
                         re.IGNORECASE | re.MULTILINE)
_YESNO = {"yes", "no"}


@dataclass
class ShortDraft:
    """The short answer a generator wrote: its text and the passage numbers it cites."""

    text: str
    cited: list[int] = field(default_factory=list)


def split_short(text: str) -> tuple[ShortDraft | None, str]:
    """The ``Short answer: ... [n]`` line (or a JSON answer's ``"short"``) and the text without it."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("short"), str):
            short = data.pop("short")
            return _draft(short, data.pop("short_citations", None)), json.dumps(data)
    m = _SHORT_LINE.search(text)
    if not m:
        return None, text
    rest = (text[: m.start()] + text[m.end():]).strip()
    return _draft(m.group("text"), None), rest


def _draft(text: str, cited: object) -> ShortDraft | None:
    numbers = [int(n) for n in cited if isinstance(n, int)] if isinstance(cited, list) else []
    numbers += [n for n in parse_markers(text) if n not in numbers]
    clean = strip_markers(text).strip().rstrip(".").strip()
    return ShortDraft(clean, numbers) if clean else None


def _locate(draft: ShortDraft, prompt: Prompt) -> Composed:
    """A drafted short answer cited to where it occurs: the cited passages first, then any passage."""
    blocks = [b for b in prompt.blocks if b.n in draft.cited] + [b for b in prompt.blocks if b.n not in draft.cited]
    needle = draft.text.lower()
    for block in blocks:
        at = block.text.lower().find(needle)
        if at >= 0 and needle not in _YESNO:
            sentence = next(((s, e) for s, e in split_sentences(block.text) if s <= at < e), (at, at + len(needle)))
            short = Short(text=block.text[at:at + len(needle)], citations=[block.n], span=(at, at + len(needle)),
                          kind="span")
            return Composed(short, [(block.n, sentence)])
    kind = "yesno" if needle in _YESNO else "unlocated"
    return Composed(Short(text=draft.text, citations=[n for n in draft.cited if prompt.block(n)], kind=kind))


def attach_short(
    prompt: Prompt,
    sentences: list[Sentence],
    quotes: dict[int, list[tuple[int, int]]],
    verifier: Verifier,
    drafted: ShortDraft | None,
    composer: ShortComposer | None,
) -> tuple[Short | None, list[Sentence]]:
    """The verified short answer, and ``sentences`` with its evidence sentences put first (those not
    already there); ``quotes`` gains their spans. None when there is no short answer to give."""
    if drafted is not None:
        composed: Composed | None = _locate(drafted, prompt)
    else:
        composed = composer.run(prompt.question, prompt.blocks) if composer is not None else None
    if composed is None:
        return None, sentences
    short = composed.short
    supported = True
    added: list[Sentence] = []
    have = {" ".join(s.text.split()).lower() for s in sentences}
    for n, (start, end) in composed.evidence:
        block = prompt.block(n)
        if block is None:
            supported = False
            continue
        text = " ".join(block.text[start:end].split())
        support = verifier.support(text, [Passage(n, block.text)])
        supported = supported and support.verified
        quotes.setdefault(n, []).append((start, end))
        if text.lower() not in have:
            have.add(text.lower())
            added.append(Sentence(text=text, citations=[n], verified=support.verified, score=round(support.score, 4)))
    if short.span is not None:
        block = prompt.block(short.citations[0]) if short.citations else None
        supported = supported and block is not None and block.text[short.span[0]:short.span[1]] == short.text
    elif short.kind == "unlocated":  # an LLM's short answer that no passage states
        supported = False
    elif drafted is not None:  # yes / no from an LLM: as good as the sentences that explain it
        supported = any(s.verified for s in sentences)
    short.verified = bool(supported and (composed.evidence or drafted is not None))
    return short, added + sentences
