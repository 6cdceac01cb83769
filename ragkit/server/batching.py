"""Concurrent searches answered together: requests that arrive while a search runs are queued and the
next of them to take a turn runs all the queued queries with the same ``k``/``mode``/``where`` as one
``search_batch`` (one embedding batch, one lexical and one vector pass). Alone, a request runs at once."""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future

from ragkit.access import EVERYTHING, Scope
from ragkit.types import Hit

Key = tuple[int, "str | None", Scope]
RunBatch = Callable[[list[str], int, "str | None", Scope], list[list[Hit]]]


class SearchBatcher:
    """``search(query, k, mode, where)`` for many threads; one batch runs at a time, each run by a waiting
    request (so no thread serves others for longer than one batch)."""

    def __init__(self, run_batch: RunBatch, max_batch: int = 32):
        self._run_batch = run_batch
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._pending: dict[Key, list[tuple[str, Future[list[Hit]]]]] = {}
        self._busy = False

    def search(self, query: str, k: int, mode: str | None = None, where: Scope = EVERYTHING) -> list[Hit]:
        key: Key = (k, mode, where)  # a Scope is hashable: same filters and principal, same batch
        mine: Future[list[Hit]] = Future()
        with self._cond:
            self._pending.setdefault(key, []).append((query, mine))
        while True:
            with self._cond:
                while self._busy and not mine.done():
                    self._cond.wait()
                if mine.done():
                    return mine.result()
                self._busy = True
                queued = self._pending.get(key, [])
                batch, rest = queued[: self.max_batch], queued[self.max_batch :]
                if rest:
                    self._pending[key] = rest
                else:
                    self._pending.pop(key, None)
            try:  # same key, same scope: this request's ``where`` is everyone's
                results = self._run_batch([q for q, _ in batch], k, mode, where)
                for (_, future), result in zip(batch, results):
                    future.set_result(result)
            except BaseException as exc:  # noqa: BLE001 - every request of the batch gets the error
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
