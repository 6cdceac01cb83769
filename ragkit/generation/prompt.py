"""Prompts: numbered context blocks with source labels, fitted to the model's context size."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ragkit.generation.sentences import split_sentences
from ragkit.types import Chunk, Hit

ABSTAIN_TEXT = "I cannot answer this from the provided documents."

SYSTEM_PROMPT = (
    "You answer questions using only the numbered context passages you are given.\n"
    "- Use no outside knowledge.\n"
    '- Start with one line "Short answer: " and the answer in a few words (a name, date, number, yes or no), '
    "with the passage it comes from, like: Short answer: Warsaw [2]\n"
    "- Then explain in full sentences.\n"
    "- After every sentence, cite the passages that support it with their numbers in square brackets, "
    "like [1] or [1, 3].\n"
    f'- If the passages do not contain the answer, reply exactly: "{ABSTAIN_TEXT}"\n'
    "- Be brief: a few sentences at most."
)

CONTEXT_HEADER = "Context passages:"
QUESTION_PREFIX = "Question: "
ANSWER_SUFFIX = "Answer (cite passages as [n]):"
_BLOCK_LINE = re.compile(r"^\[(\d+)\] Source: .*$", re.MULTILINE)
_RESERVE = 16  # tokens for chat-template overhead


@dataclass
class ContextBlock:
    """One numbered passage in the prompt. ``text`` is a prefix of the chunk text (whole sentences)."""

    n: int
    hit: Hit
    text: str

    @property
    def chunk(self) -> Chunk:
        return self.hit.chunk


@dataclass
class Prompt:
    """Chat messages plus the numbered blocks they contain (block ``n`` is ``blocks[n - 1]``)."""

    question: str
    messages: list[dict[str, str]]
    blocks: list[ContextBlock] = field(default_factory=list)
    dropped: int = 0

    def block(self, n: int) -> ContextBlock | None:
        return self.blocks[n - 1] if 1 <= n <= len(self.blocks) else None


def source_label(chunk: Chunk) -> str:
    """``source | page 3 | Heading > Sub`` for the block header."""
    parts = [chunk.source]
    if chunk.page is not None:
        parts.append(f"page {chunk.page}")
    if chunk.heading:
        parts.append(chunk.heading)
    return " | ".join(p.replace("\n", " ") for p in parts)


def approx_tokens(text: str) -> int:
    """A rough token count (about 1.3 tokens a word) when no tokenizer is at hand."""
    return int(len(text.split()) * 1.3) + 1


def render_block(n: int, chunk: Chunk, text: str) -> str:
    return f"[{n}] Source: {source_label(chunk)}\n{text.strip()}"


def build_prompt(
    question: str,
    hits: list[Hit],
    *,
    count_tokens: Callable[[str], int] | None = None,
    context_tokens: int = 2048,
    max_tokens: int = 256,
    history: list[dict[str, str]] | None = None,
    system: str = SYSTEM_PROMPT,
) -> Prompt:
    """Fit the best-ranked hits into the context budget and render the chat messages.

    The budget is ``context_tokens - max_tokens`` minus the instructions, question and history. Hits are
    taken in rank order; the first that does not fit ends the list (lower-ranked hits are dropped). A hit
    that does not fit whole when nothing has been added yet is cut after its last whole sentence that fits,
    never mid-sentence.
    """
    count = count_tokens or approx_tokens
    history = list(history or [])
    budget = context_tokens - max_tokens - overhead(question, count, history, system)
    blocks: list[ContextBlock] = []
    used = 0
    for hit in hits:
        n = len(blocks) + 1
        text = hit.chunk.text.strip()
        cost = block_cost(n, hit.chunk, text, count)
        if used + cost <= budget:
            blocks.append(ContextBlock(n, hit, hit.chunk.text.rstrip()))
            used += cost
            continue
        if not blocks:
            trimmed = _trim_to_sentences(hit.chunk, budget - block_cost(n, hit.chunk, "", count), count)
            if trimmed:
                blocks.append(ContextBlock(n, hit, trimmed))
        break
    dropped = len(hits) - len(blocks)
    context = "\n\n".join(render_block(b.n, b.chunk, b.text) for b in blocks)
    user = f"{CONTEXT_HEADER}\n\n{context}\n\n{QUESTION_PREFIX}{question.strip()}\n{ANSWER_SUFFIX}"
    messages = [{"role": "system", "content": system}, *history, {"role": "user", "content": user}]
    return Prompt(question=question, messages=messages, blocks=blocks, dropped=dropped)


def overhead(
    question: str, count: Callable[[str], int], history: list[dict[str, str]] | None = None, system: str = SYSTEM_PROMPT
) -> int:
    """Tokens the prompt needs besides the context blocks."""
    fixed = count(system) + count(question) + count(CONTEXT_HEADER + ANSWER_SUFFIX + QUESTION_PREFIX) + _RESERVE
    return fixed + sum(count(m.get("content", "")) + 4 for m in history or [])


def block_cost(n: int, chunk: Chunk, text: str, count: Callable[[str], int]) -> int:
    """Tokens one rendered block takes."""
    return count(render_block(n, chunk, text)) + 2


def _trim_to_sentences(chunk: Chunk, budget: int, count: Callable[[str], int]) -> str:
    """The longest prefix of ``chunk.text`` made of whole sentences within ``budget`` tokens."""
    best = ""
    for _start, end in split_sentences(chunk.text):
        candidate = chunk.text[:end]
        if count(candidate.strip()) > budget:
            break
        best = candidate
    return best


def parse_prompt(messages: list[dict[str, str]]) -> tuple[str, list[tuple[int, str]]]:
    """Recover the question and the numbered passages from messages built by :func:`build_prompt`."""
    user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    question = ""
    head, sep, tail = user.rpartition("\n\n" + QUESTION_PREFIX)
    if sep:
        question = tail.split("\n" + ANSWER_SUFFIX)[0].strip()
        context = head
    else:
        context, question = "", user.strip()
    if context.startswith(CONTEXT_HEADER):
        context = context[len(CONTEXT_HEADER) :]
    passages: list[tuple[int, str]] = []
    matches = list(_BLOCK_LINE.finditer(context))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(context)
        passages.append((int(match.group(1)), context[match.end() + 1 : end].rstrip()))
    return question, passages
