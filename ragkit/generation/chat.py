"""Chat turns: a follow-up question condensed into a standalone query for retrieval."""
from __future__ import annotations

import re

from ragkit.generation.sentences import STOPWORDS, content_terms, tokens
from ragkit.protocols import Generator

HISTORY_TURNS = 6  # the last turns a chat prompt carries
_ANAPHORA = {
    "it",
    "its",
    "they",
    "them",
    "their",
    "he",
    "him",
    "his",
    "she",
    "her",
    "this",
    "that",
    "these",
    "those",
    "there",
    "then",
    "one",
    "ones",
    "former",
    "latter",
    "same",
    "also",
    "else",
}
_FILLER = {
    "tell",
    "explain",
    "describe",
    "show",
    "give",
    "please",
    "know",
    "want",
    "like",
    "me",
    "us",
    "can",
    "could",
    "would",
    "something",
    "anything",
    "thing",
    "things",
    "info",
    "information",
    "details",
}

# -- chat: standalone query ---------------------------------------------------------------------------------
REWRITE_PROMPT = (
    "Rewrite the user's last question as one standalone question that can be understood without the "
    "conversation. Reply with the question only."
)


def condense(history: list[dict[str, str]], question: str, gen: Generator | None = None) -> str:
    """A standalone query for retrieval.

    Generators that can rewrite well (``rewrites = True``: openai, vllm) are asked to; otherwise (and on any
    failure) a deterministic rule applies: a follow-up that refers back (pronouns like "it", "they") or is
    short gets the content words of the previous user question appended.
    """
    turns = [m for m in history if m.get("role") in ("user", "assistant") and m.get("content")]
    if not turns:
        return question
    if gen is not None and getattr(gen, "rewrites", False):
        convo = "\n".join(f"{m['role']}: {m['content']}" for m in turns[-HISTORY_TURNS:])
        messages = [
            {"role": "system", "content": REWRITE_PROMPT},
            {"role": "user", "content": f"Conversation:\n{convo}\n\nLast question: {question}\nStandalone question:"},
        ]
        try:
            rewritten = gen.generate(messages, 64).strip().strip('"').splitlines()[0].strip()
            if rewritten:
                return rewritten
        except Exception:  # noqa: BLE001 - fall back to the rule
            pass
    previous = next((m["content"] for m in reversed(turns) if m["role"] == "user"), "")
    words = tokens(question)
    refers_back = any(w in _ANAPHORA for w in words) or len(content_terms(question)) < 3
    if not previous or not refers_back:
        return question
    seen = {w for w in words}
    extra = [
        w
        for w in re.findall(r"[\w'’-]+", previous)
        if w.lower() not in STOPWORDS and w.lower() not in _FILLER and w.lower() not in seen
    ]
    extra = list(dict.fromkeys(extra))
    return f"{question.rstrip()} ({' '.join(extra)})" if extra else question
