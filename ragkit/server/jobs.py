"""Background write jobs (index, upload, delete): one at a time, in a worker thread with its own Kit,
so searches keep being served from the server's reading Kit while a job runs."""
from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ragkit.server.errors import describe

MAX_JOBS_KEPT = 200


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

    def update(self, stage: str, done: int, total: int | None = None) -> None:
        """A ragkit ``Progress`` callback: ``stage`` reached ``done`` of ``total``."""
        self.progress[stage] = {"done": done, "total": total}

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
    """Runs write jobs one after another on a single worker thread; keeps the last jobs for ``/jobs``."""

    def __init__(self, open_writer: Callable[[], Any]):
        self._open_writer = open_writer  # builds the writing Kit (in the worker thread, on first job)
        self._writer: Any = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragkit-job")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def submit(self, kind: str, work: Callable[[Any, Job], Any]) -> tuple[Job, Future]:
        """Queue ``work(writer_kit, job)``; its return value becomes the job's result."""
        job = Job(job_id=uuid.uuid4().hex[:16], kind=kind)
        with self._lock:
            self._jobs[job.job_id] = job
            while len(self._jobs) > MAX_JOBS_KEPT:
                oldest = next(iter(self._jobs))
                if self._jobs[oldest].status in ("queued", "running"):
                    break
                self._jobs.popitem(last=False)
        return job, self._pool.submit(self._run, job, work)

    def _run(self, job: Job, work: Callable[[Any, Job], Any]) -> Any:
        job.status, job.started = "running", time.time()
        try:
            if self._writer is None:
                self._writer = self._open_writer()
            job.result = work(self._writer, job)
            job.status = "done"
            return job.result
        except Exception as exc:  # noqa: BLE001 - recorded on the job, re-raised to a waiting caller
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
        """Wait for the running job, drop queued ones, close the writing Kit."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._writer is not None:
            self._writer.close()
            self._writer = None
