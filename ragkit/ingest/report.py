"""What an ingest reports: the phases of the write protocol, progress counts, and the IndexReport."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

Progress = Callable[[str, int, int | None], None]
PhaseHook = Callable[[str], None]
PHASES = ("parse", "chunk", "embed", "vectors", "manifest", "delete", "lexical", "merge")


@dataclass
class IndexReport:
    """What one ``index`` call changed (files) and wrote (chunks), and which files failed."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    relabeled: int = 0  # same content, new access labels: no re-chunking, no re-embedding
    chunks: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    graph_llm: dict[str, Any] | None = None  # LLM extraction usage (tokens, calls, budget) when graph.llm_extraction

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["graph_llm"] is None:
            del data["graph_llm"]
        return data


class Tally:
    """Progress counts that run on across batches: ``done``/``total`` per stage."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.done: dict[str, int] = defaultdict(int)
        self.total: dict[str, int] = defaultdict(int)

    def report(self, stage: str, done: int, total: int | None) -> None:
        self.done[stage] = done
        self.total[stage] = total or 0
        self.progress(stage, done, total)

    def step(self, stage: str, total: int | None, by: int = 1) -> None:
        """``by`` more done of ``total`` (the stage's total so far when None)."""
        self.report(stage, self.done[stage] + by, total if total is not None else self.total[stage])

    def scoped(self, stage: str) -> Progress:
        """A progress callback for one batch's ``stage`` whose counts add to the earlier batches'."""
        base_done, base_total = self.done[stage], self.total[stage]

        def update(name: str, done: int, total: int | None) -> None:
            self.report(name, base_done + done, base_total + (total or 0))

        return update
