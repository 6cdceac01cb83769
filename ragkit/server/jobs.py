"""Background write jobs (index, upload, delete): queued and run one at a time on a worker thread with
its own Kit (``writer.py`` has the operations), their state and progress kept for ``/jobs``.

A job queues behind the running one: it never fails on this server's own store lock. The server's quick
"is another process writing?" check (:meth:`JobRunner.check`) runs under the same gate as the jobs, so
it never holds the lock while a job of ours takes it, and is skipped while one of ours runs. A queued
job dropped at shutdown is ``cancelled`` and its cleanup (an upload's folder) runs.

The worker thread runs at a lower CPU priority (Linux nice is per thread, and the math threads it starts
inherit it), so searches keep their latency while an index job embeds. It stays in the server's process
on purpose: the embedded vector store is shared per process, so readers see each commit at once.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ragkit.server.errors import ApiError, describe

if TYPE_CHECKING:
    from ragkit.kit import Kit
    from ragkit.server.writer import Operation

MAX_JOBS_KEPT = 200
NICE = 10  # the job thread's priority below the request threads


@dataclass
class Job:
    """One write request: its state (queued | running | done | failed | cancelled), progress per stage
    and result."""

    job_id: str
    kind: str
    status: str = "queued"
    progress: dict[str, dict[str, int | None]] = field(default_factory=dict)
    result: Any = None
    error: dict[str, Any] | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    owner: str = ""  # who submitted it (the principal's key): only it (or the owner of everything) sees it

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "kind": self.kind,
            "status": self.status,
            "progress": dict(self.progress),
            "result": self.result,
            "error": self.error,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
        }


class JobRunner:
    """Runs write operations one after another on a single, lower-priority worker thread."""

    def __init__(self, open_writer: Callable[[], Kit], operations: dict[str, Operation]):
        self._open_writer = open_writer  # builds the writing Kit, in the worker thread, on the first job
        self._operations = operations
        self._writer: Kit | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragkit-job", initializer=_lower_priority)
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._gate = threading.Lock()  # held by the running job, or by check(): never both

    def submit(self, kind: str, kwargs: dict[str, Any], owner: str = "",
               cleanup: Callable[[], None] | None = None) -> tuple[Job, Future[Any]]:
        """Queue the operation ``kind`` (index | upload | delete) with ``kwargs`` for ``owner``;
        ``cleanup`` runs if the job is cancelled before it starts (the server closing), or if it
        cannot be queued at all (503)."""
        if kind not in self._operations:
            raise ValueError(f"unknown job kind {kind!r}")
        job = Job(job_id=uuid.uuid4().hex[:16], kind=kind, owner=owner)
        try:
            future = self._pool.submit(self._run, job, kwargs)
        except RuntimeError:  # shut down
            if cleanup is not None:
                cleanup()
            raise ApiError(503, "the server is shutting down; no new write jobs") from None
        with self._lock:
            self._jobs[job.job_id] = job
            while len(self._jobs) > MAX_JOBS_KEPT:
                oldest = next(iter(self._jobs))
                if self._jobs[oldest].status in ("queued", "running"):
                    break
                self._jobs.popitem(last=False)

        def cancelled(done: Future[Any]) -> None:
            if done.cancelled():
                job.status, job.finished = "cancelled", time.time()
                if cleanup is not None:
                    cleanup()

        future.add_done_callback(cancelled)
        return job, future

    def _run(self, job: Job, kwargs: dict[str, Any]) -> Any:
        with self._gate:
            job.status, job.started = "running", time.time()

            def progress(stage: str, done: int, total: int | None = None) -> None:
                job.progress[stage] = {"done": done, "total": total}

            try:
                if self._writer is None:
                    self._writer = self._open_writer()
                job.result = self._operations[job.kind](self._writer, progress, **kwargs)
                job.status = "done"
                return job.result
            except Exception as exc:  # noqa: BLE001 - recorded on the job, re-raised to a waiting request
                job.error, job.status = describe(exc), "failed"
                raise
            finally:
                job.finished = time.time()

    def check(self, probe: Callable[[], object]) -> None:
        """Run ``probe`` (a look at the store's write lock) unless a job of ours is running, keeping
        jobs from starting meanwhile: what it finds locked is another process's doing."""
        if not self._gate.acquire(blocking=False):
            return  # our own job holds the store: the new one queues behind it
        try:
            probe()
        finally:
            self._gate.release()

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    @property
    def busy(self) -> bool:
        return any(j.status in ("queued", "running") for j in self.list())

    def close(self) -> None:
        """Let the running job finish, cancel queued ones (their cleanups run), close the writing Kit."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _lower_priority() -> None:
    """Lower this thread's CPU priority (Linux: per thread); elsewhere a no-op."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
    except (AttributeError, OSError):
        pass
