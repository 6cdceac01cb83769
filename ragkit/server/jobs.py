"""Background write jobs (index, upload, delete): queued and run one at a time on a worker thread with
its own Kit (``writer.py`` has the operations), their state and progress kept for ``/jobs``.

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
from typing import Any, Callable

from ragkit.server.errors import describe

MAX_JOBS_KEPT = 200
NICE = 10  # the job thread's priority below the request threads


@dataclass
class Job:
    """One write request: its state (queued | running | done | failed), progress per stage and result."""

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

    def __init__(self, open_writer: Callable[[], Any], operations: dict[str, Callable[..., Any]]):
        self._open_writer = open_writer  # builds the writing Kit, in the worker thread, on the first job
        self._operations = operations
        self._writer: Any = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragkit-job", initializer=_lower_priority)
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def submit(self, kind: str, kwargs: dict[str, Any], owner: str = "") -> tuple[Job, Future]:
        """Queue the operation ``kind`` (index | upload | delete) with ``kwargs`` for ``owner``."""
        if kind not in self._operations:
            raise ValueError(f"unknown job kind {kind!r}")
        job = Job(job_id=uuid.uuid4().hex[:16], kind=kind, owner=owner)
        with self._lock:
            self._jobs[job.job_id] = job
            while len(self._jobs) > MAX_JOBS_KEPT:
                oldest = next(iter(self._jobs))
                if self._jobs[oldest].status in ("queued", "running"):
                    break
                self._jobs.popitem(last=False)
        return job, self._pool.submit(self._run, job, kwargs)

    def _run(self, job: Job, kwargs: dict[str, Any]) -> Any:
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
        """Let the running job finish, drop queued ones, close the writing Kit."""
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
