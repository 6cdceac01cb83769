"""Batch QA on Ray (extra ``ray``): a pool of actors, each holding one generator and reading the store.

Each actor opens the store at the driver's path (it only reads: retrieval and generation), with the
driver's effective config, and answers one group of questions per call with the function the
in-process batch uses (:func:`ragkit.batch.answer_group`, passed in by the batch, so this module
never imports its package), so a record is the same whichever process made it. The driver writes
records as they arrive; it alone writes the output file. Workers of a cluster must see the store at the same path (a shared file system).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ragkit.access import Scope
from ragkit.executors.ray import RaySession, as_completed_calls
from ragkit.kit import Kit


class AnswerWorker:
    """One Ray actor: the store opened for reading, with the driver's config, and its generator."""

    def __init__(self, store: str, config: dict[str, Any], generator: str | None, answer: Callable[..., Any]):
        from ragkit.config import Config

        self.kit = Kit(store)  # the store's config.toml exists: opening writes nothing
        self.kit.config = Config.from_dict(config)
        self.generator = generator
        self._answer = answer  # pickled by reference: the actor imports its module
        self.kit.runtime.answers.generators.get(generator)  # load it now, once per actor

    def answer(
        self, group: list[tuple[str, str]], scope: Scope | None, k: int | None, batched: bool
    ) -> list[dict[str, Any]]:
        return self._answer(self.kit, group, self.generator, scope, k, batched)


class RayAnswerer:
    """Answers groups of questions on a pool of :class:`AnswerWorker` actors (one per CPU of the
    cluster, at most one per group), yielding each group's records as it finishes."""

    def __init__(
        self,
        session: RaySession,
        kit: Kit,
        answer: Callable[..., Any],
        generator: str | None = None,
        scope: Scope | None = None,
        k: int | None = None,
        batched: bool = False,
        actors: int = 0,
    ):
        self.session = session
        self.store = str(Path(kit.path).resolve())
        self.config = kit.config.to_dict()
        self.generator = generator
        self.answer = answer  # (kit, group, generator, scope, k, batched) -> one record per question
        self.scope, self.k, self.batched = scope, k, batched
        self.actors_wanted = actors
        self._pool: list[Any] = []

    def run(self, groups: list[list[tuple[str, str]]]) -> Iterator[list[dict[str, Any]]]:
        ray = self.session.connect()
        size = max(1, min(self.actors_wanted or self.session.free_cpus(), len(groups)))
        worker = ray.remote(num_cpus=1, max_restarts=3)(AnswerWorker)
        self._pool = [worker.remote(self.store, self.config, self.generator, self.answer) for _ in range(size)]
        calls = [(group, self.scope, self.k, self.batched) for group in groups]
        for _, (group, *_), result in as_completed_calls(ray, self._pool, "answer", calls):
            if isinstance(result, Exception):  # the actor died or failed to start: record it, go on
                error = f"{type(result).__name__}: the Ray worker answering failed: {_last_line(result)}"
                yield [{"id": qid, "question": question, "error": error, "seconds": 0.0} for qid, question in group]
            else:
                yield result

    def close(self) -> None:
        if self._pool:
            ray = self.session.connect()
            for actor in self._pool:
                ray.kill(actor)
            self._pool = []


def _last_line(error: Exception) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""
