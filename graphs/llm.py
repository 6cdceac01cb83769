"""Optional LLM extraction of entities and relations (``graph.llm_extraction``, off by default).

Each chunk goes to a generator backend (``local``: the SmolLM2 GGUF through llama-cpp, whose JSON-schema
``response_format`` constrains decoding; ``openai``: any OpenAI-compatible server, ``response_format``
``json_schema``) with a prompt asking for the chunk's entities and the relations between them, answered
as JSON that follows :data:`SCHEMA`. A token budget (prompt + completion, counted by the backend) caps
the cost: once the next call could exceed it, extraction stops and the remaining chunks keep only the
offline extraction. Usage (calls, tokens, chunks skipped) is accounted in :class:`LLMUsage`.

Entities the model names are kept only where their name occurs in the chunk (no invented entities);
relations only between kept entities, with the model's predicate, supported by the chunk.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

TYPES = ["PERSON", "ORG", "PLACE", "WORK", "EVENT", "PRODUCT", "OTHER"]
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "entities": {"type": "array", "items": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "type": {"type": "string", "enum": TYPES}},
            "required": ["name", "type"], "additionalProperties": False}},
        "relations": {"type": "array", "items": {
            "type": "object",
            "properties": {"source": {"type": "string"}, "predicate": {"type": "string"}, "target": {"type": "string"}},
            "required": ["source", "predicate", "target"], "additionalProperties": False}},
    },
    "required": ["entities", "relations"],
    "additionalProperties": False,
}
PROMPT = ("Extract the named entities (people, organizations, places, works, events, products) of the text and "
          "the relations between them. Answer with JSON only: {\"entities\": [{\"name\": ..., \"type\": ...}], "
          "\"relations\": [{\"source\": ..., \"predicate\": ..., \"target\": ...}]}. Use names exactly as written "
          "in the text; a predicate is a short verb phrase.")

# complete(messages, schema, max_tokens) -> (text, prompt tokens, completion tokens)
Complete = Callable[[list[dict[str, str]], dict[str, Any], int], tuple[str, int, int]]


@dataclass
class LLMUsage:
    """Cost accounting of LLM extraction."""

    backend: str = ""
    budget_tokens: int = 0
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    chunks_skipped: int = 0  # chunks left to the offline extraction because the budget was exhausted
    invalid: int = 0  # answers that were no valid JSON (e.g. cut at max_tokens)
    exhausted: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_tokens": self.total_tokens}

    def add(self, other: dict[str, Any]) -> None:
        """Accumulate another run's usage (its dict form)."""
        for key in ("calls", "prompt_tokens", "completion_tokens", "chunks_skipped", "invalid"):
            setattr(self, key, getattr(self, key) + int(other.get(key, 0)))
        self.exhausted = self.exhausted or bool(other.get("exhausted"))
        self.backend = self.backend or str(other.get("backend", ""))
        self.budget_tokens = self.budget_tokens or int(other.get("budget_tokens", 0))


class LLMExtractor:
    """Entities and relations of chunk texts through ``complete``, within ``budget`` tokens in all."""

    def __init__(self, complete: Complete, budget: int, backend: str = "", max_tokens: int = 256, max_chars: int = 1500):
        self.complete = complete
        self.max_tokens = max_tokens
        self.max_chars = max_chars
        self.usage = LLMUsage(backend=backend, budget_tokens=budget)

    def _fits(self, text: str) -> bool:
        # a prompt costs about a token per 4 characters plus the instructions; the answer at most max_tokens
        estimate = (len(PROMPT) + len(text)) // 4 + 16 + self.max_tokens
        return self.usage.total_tokens + estimate <= self.usage.budget_tokens

    def extract(self, text: str) -> tuple[list[tuple[int, int, str, str]], list[tuple[str, str, str]]] | None:
        """(entity spans ``(start, end, surface, label)``, relations ``(source surface, predicate, target
        surface)``) of ``text``, or None once the budget is exhausted."""
        text = text[: self.max_chars]
        if self.usage.exhausted or not self._fits(text):
            self.usage.exhausted = True
            self.usage.chunks_skipped += 1
            return None
        messages = [{"role": "system", "content": PROMPT}, {"role": "user", "content": text}]
        answer, prompt_tokens, completion_tokens = self.complete(messages, SCHEMA, self.max_tokens)
        self.usage.calls += 1
        self.usage.prompt_tokens += prompt_tokens
        self.usage.completion_tokens += completion_tokens
        try:
            data = json.loads(answer)
        except (json.JSONDecodeError, TypeError):
            self.usage.invalid += 1
            return [], []
        spans: list[tuple[int, int, str, str]] = []
        found: dict[str, str] = {}
        for item in data.get("entities") or []:
            name = str(item.get("name", "")).strip() if isinstance(item, dict) else ""
            at = text.find(name) if len(name) >= 2 else -1
            if at < 0 or name.lower() in found:
                continue  # only entities written in the chunk
            found[name.lower()] = name
            spans.append((at, at + len(name), name, f"LLM_{item.get('type', 'OTHER')}"))
        relations = []
        for item in data.get("relations") or []:
            if not isinstance(item, dict):
                continue
            a, b = str(item.get("source", "")).strip().lower(), str(item.get("target", "")).strip().lower()
            predicate = " ".join(str(item.get("predicate", "")).lower().split())[:60]
            if a in found and b in found and a != b and predicate:
                relations.append((found[a], predicate, found[b]))
        return spans, relations


def make_llm_extractor(generator: object, budget: int, max_tokens: int = 256) -> LLMExtractor:
    """An LLMExtractor over a generator backend that has ``complete_json`` (``local`` with llama-cpp,
    ``openai``); others raise a ValueError naming the valid ones. ``generator`` is any generator: whether
    it can answer in JSON is this check's to find out (graphs/ does not import the generation layer)."""
    complete: Complete | None = getattr(generator, "complete_json", None)
    if complete is None:
        raise ValueError(f"graph.llm_extraction needs a generator with JSON-schema output; "
                         f"generator.name={getattr(generator, 'name', generator)!r}, valid: local, openai")
    return LLMExtractor(complete, budget, backend=str(getattr(generator, "name", "")), max_tokens=max_tokens)
