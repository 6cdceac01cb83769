"""Extraction for a write: the graph config picks the recognizer; runs before the manifest transaction."""
from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from graphs.extract import Extractor, make_recognizer
from graphs.extract import SPACY_MODEL
from graphs.model import Extraction
from ragkit.types import Chunk, Document

if TYPE_CHECKING:
    from ragkit.config import GraphConfig
    from graphs.llm import LLMExtractor

BATCH = 256


def recognizer_name(name: str) -> str:
    """``auto`` is spaCy when the ``graph`` extra (spacy + its model) is installed, else the fast one."""
    if name != "auto":
        return name
    if importlib.util.find_spec("spacy") and importlib.util.find_spec(SPACY_MODEL):
        return "spacy"
    return "fast"


class GraphBuilder:
    """Holds one recognizer (its model loads on the first document) for the writes of one indexer."""

    def __init__(self, config: GraphConfig, make_llm: Callable[[], object] | None = None):
        self.config = config
        # builds the generator backend of optional LLM extraction (one with ``complete_json``, checked by
        # ``graphs.llm.make_llm_extractor``), injected by the caller so that graphs/ never imports the
        # generation layer above it
        self.make_llm = make_llm
        self._extractor: Extractor | None = None
        self._llm: LLMExtractor | None = None
        self._taken: dict[str, Any] = {}  # LLM usage already reported by take_usage

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    @property
    def extractor(self) -> Extractor:
        if self._extractor is None:
            recognizer = make_recognizer(recognizer_name(self.config.extractor),
                                         parse=self.config.predicates == "parse")
            self._extractor = Extractor(recognizer, relations=self.config.relations, llm=self.llm())
        return self._extractor

    def llm(self) -> LLMExtractor | None:
        """The LLM extractor when ``graph.llm_extraction`` is on (its generator loads on the first call)."""
        if not self.config.llm_extraction:
            return None
        if self._llm is None:
            from graphs.llm import make_llm_extractor

            if self.make_llm is None:
                raise ValueError("graph.llm_extraction needs the generator config (generator.name: local or openai)")
            self._llm = make_llm_extractor(self.make_llm(), int(self.config.llm_token_budget),
                                           int(self.config.llm_max_tokens))
        return self._llm

    def start_call(self) -> None:
        """A new index call: LLM extraction gets its whole token budget again."""
        self._taken = {}
        if self._llm is not None:
            for key in ("calls", "prompt_tokens", "completion_tokens", "chunks_skipped", "invalid"):
                setattr(self._llm.usage, key, 0)
            self._llm.usage.exhausted = False

    def take_usage(self) -> dict[str, Any] | None:
        """The LLM extraction usage since the last take (None when LLM extraction is off or unused). The
        counters run on across the batches of one index call, so its budget spans the call."""
        if self._llm is None:
            return None
        now = self._llm.usage.to_dict()
        taken = self._taken
        keys = ("calls", "prompt_tokens", "completion_tokens", "chunks_skipped", "invalid", "total_tokens")
        delta = {**now, **{k: int(now[k]) - int(taken.get(k, 0)) for k in keys}}
        self._taken = now
        return delta

    def run(
        self, items: Sequence[tuple[Document, list[Chunk]]], progress: Callable[[str, int, int | None], None] | None = None
    ) -> dict[str, Extraction] | None:
        """Each document's extraction, or None when graph building is off."""
        if not self.enabled or not items:
            return None
        out: dict[str, Extraction] = {}
        done = 0
        batch: list[tuple[Document, list[Chunk]]] = []
        total = len(items)
        for item in items:
            batch.append(item)
            if sum(len(c) for _, c in batch) >= BATCH:
                out.update(self.extractor.run(batch))
                done += len(batch)
                batch = []
                if progress:
                    progress("graph", done, total)
        if batch:
            out.update(self.extractor.run(batch))
        if progress:
            progress("graph", total, total)
        return out
