"""Parsing in worker processes: a per-file timeout, a memory cap, and a crash that stays in the worker.

A pathological file (a PDF that makes PDFium loop, a zip bomb, a parser segfault) must not hang an
ingest or grow the indexer's memory. :class:`ParseGuard` sends each file to one of a few long-lived
worker processes and gets the Document back pickled. A worker is a fresh interpreter started with
``subprocess`` (never a fork, unsafe once torch/onnx threads run in the indexer; and not
multiprocessing's ``spawn``, which re-runs the caller's ``__main__`` script in the worker), talking
over a socket pair with multiprocessing's pickling ``Connection``. A worker is killed and replaced
when a file uses more than ``parse_timeout`` seconds of CPU time (or waits 5 times that), when it dies (the file is reported, not the ingest aborted), and after a file that
left its resident memory above ``worker_max_rss_mb``; ``worker_memory_mb`` caps its address space
(``RLIMIT_AS``), so a runaway allocation fails inside the worker. Workers are reused across files,
so the start-up cost (~1 s) is paid once per ingest, not per file.

Hand-written rather than ``concurrent.futures.ProcessPoolExecutor`` or ``multiprocessing.Pool``:
neither can stop one hung task (a timeout leaves the worker running it), and a dead worker breaks
the whole executor. Nor ``pebble.ProcessPool`` (tried, pebble 5.2.3), which does stop a hung task and
replace a dead worker, but: it starts workers through a multiprocessing context (fork: unsafe here;
spawn/forkserver: re-run the caller's ``__main__``; an unguarded script, like the docs' examples,
re-ran itself in the worker and the pool broke with ``BrokenProcessPool: All workers expired``); its
timeout is wall-clock only (ours counts CPU time); the caller cannot have the worker that ran a task
replaced after it (``worker_max_rss_mb``, a MemoryError) without racing the next task it fetched;
and a worker dying (say, OOM-killed) while no task runs breaks the whole pool (``find_expired_task``
raises ``BrokenProcessPool``). Checked again for issue 21 against tests/connectors/test_guard.py: the
CPU-time timeout (``test_a_hang_is_stopped_at_the_timeout[spin]``), the replacement after a MemoryError
or a big RSS (``test_memory_is_capped_in_the_worker``, ``test_a_worker_left_big_is_replaced``) and
workers that die with a SIGKILLed indexer (``test_workers_die_with_a_killed_indexer``) have no pebble
equivalent, so the hand-written pool stays. The pool here is a list of
workers under one condition variable: a caller waits for an idle worker or a free slot, and is woken
when a worker is handed back or killed. ``parse_workers = 0`` parses in-process (no timeout, no
isolation); :meth:`ParseGuard.load_many` keeps ``parse_workers`` workers busy for one caller.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from connectors.base import ConnectorError
from ragkit.types import ConnectorOptions, Document

PRELOAD = ("connectors.registry",)  # imported by each worker as it starts, not on its first file
WALL_FACTOR = 5  # a file may wait this many times parse_timeout in wall-clock time (a parser blocked, not computing)
POLL = 0.2  # seconds between checks of a busy worker's CPU time


class ParseTimeout(ConnectorError):
    """A file took longer than ``parse_timeout`` to parse; its worker was killed."""


class ParserCrashed(ConnectorError):
    """The worker parsing a file died (a signal, or memory past its limit)."""


class WorkerError(Exception):
    """An exception other than ConnectorError raised by a function run in a worker (:meth:`ParseGuard.call`)."""

    def __init__(self, kind: str, message: str, trace: str):
        self.kind, self.message, self.trace = kind, message, trace
        super().__init__(f"{kind}: {message}")


def parse_file(path: str, source: str | None, options: ConnectorOptions) -> Document:
    """What a worker runs for one file: the connector, then the character limit."""
    from connectors.limits import check_document
    from connectors.registry import load

    doc = load(Path(path), source, options)
    check_document(path, doc, options)
    return doc


def _rss_mb() -> float:
    """This process's resident memory in MB (Linux; 0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


# The worker's command: the parent's import path first, then the loop of this module.
_BOOT = "import json, sys; sys.path[:0] = json.loads(sys.argv[1]); from connectors.guard import _worker_main; _worker_main()"


def _worker_main() -> None:
    """Entry of a worker process: ``python -c _BOOT PATHS FD MEMORY_MB``."""
    parent = os.getppid()

    def watch() -> None:  # die with the indexer, even one killed while this worker parses
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    # (not prctl's PR_SET_PDEATHSIG: it fires when the *thread* that started the worker ends)
    threading.Thread(target=watch, daemon=True, name="ragkit-parent-watch").start()
    _serve(Connection(int(sys.argv[2])), int(sys.argv[3]))


def _serve(conn: Connection, memory_mb: int) -> None:
    """A worker's loop: receive ``(function, args)``, send back ``(status, payload, rss_mb)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if memory_mb:
        import resource

        limit = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for module in PRELOAD:
        __import__(module)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        function, args = message
        try:
            reply: tuple[str, Any] = ("ok", function(*args))
        except ConnectorError as exc:
            reply = ("connector", exc)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
            reply = ("error", (type(exc).__name__, str(exc)[:2000], traceback.format_exc()[-8000:]))
        try:
            conn.send((*reply, _rss_mb()))
        except Exception as exc:  # noqa: BLE001 - e.g. a result that does not pickle
            conn.send(("error", (type(exc).__name__, f"cannot send the result back: {exc}", ""), _rss_mb()))


class _Worker:
    """One worker process and the parent's end of its socket pair."""

    def __init__(self, memory_mb: int):
        mine, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, json.dumps(sys.path), str(theirs.fileno()), str(memory_mb)],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # a parser's chatter must not reach a --json stdout
            start_new_session=True,  # Ctrl-C in a terminal reaches the indexer, which stops its workers
        )
        theirs.close()
        self.conn = Connection(mine.detach())

    @property
    def exitcode(self) -> int | None:
        return self.process.poll()

    def stop(self, kill: bool = False) -> None:
        if not kill:
            try:
                self.conn.send(None)
                self.process.wait(2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.process.poll() is None:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
        self.conn.close()


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, reaped children included) of process ``pid``; None where /proc is missing."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _wait(worker: _Worker, timeout: float, path: str | Path) -> None:
    """Until the worker answers; ParseTimeout when it has used ``timeout`` seconds of CPU time (a
    parser computing forever), or waited ``WALL_FACTOR`` times that (a parser blocked). CPU time,
    not wall-clock time, so that a file does not time out because the machine is busy."""
    if not timeout or timeout <= 0:
        worker.conn.poll(None)
        return
    started, cpu_start = time.monotonic(), _cpu_seconds(worker.process.pid)
    while not worker.conn.poll(POLL):
        waited = time.monotonic() - started
        cpu = _cpu_seconds(worker.process.pid)
        if cpu_start is None or cpu is None:  # no /proc: wall-clock time only
            if waited > timeout:
                raise ParseTimeout(path, f"parsing took longer than {timeout:g} s (limits.parse_timeout); "
                                         "the parser was stopped")
        elif cpu - cpu_start > timeout:
            raise ParseTimeout(path, f"parsing took more than {timeout:g} s of CPU time (limits.parse_timeout); "
                                     "the parser was stopped")
        if waited > timeout * WALL_FACTOR:
            raise ParseTimeout(path, f"parsing took longer than {timeout * WALL_FACTOR:g} s ({WALL_FACTOR} x "
                                     "limits.parse_timeout) without finishing; the parser was stopped")


def _signal_name(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def _stop_all(workers: list[_Worker]) -> None:
    for worker in workers:
        worker.stop(kill=True)


class ParseGuard:
    """Parse files in worker processes under the ``[limits]`` of ``options``; thread-safe.

    ``load(path, source)`` returns the Document or raises ConnectorError (ParseTimeout, ParserCrashed,
    LimitExceeded are subclasses), never anything else. Workers start on first use; ``close()`` (or
    leaving a ``with`` block) stops them.
    """

    def __init__(self, options: ConnectorOptions | None = None):
        self.options = options or ConnectorOptions()
        self._idle: list[_Worker] = []  # started and not busy (a subset of _all)
        self._all: list[_Worker] = []  # every live worker, busy or idle; at most max(1, parse_workers)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a worker was handed back, or one left _all
        self._finalizer = weakref.finalize(self, _stop_all, self._all)
        self.replaced = 0  # workers killed and replaced (timeouts, crashes, memory)

    def __enter__(self) -> ParseGuard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker (politely, then by SIGKILL)."""
        with self._lock:
            workers, self._all[:], self._idle[:] = list(self._all), [], []
            self._changed.notify_all()  # a caller waiting for a slot starts a fresh worker
        for worker in workers:
            worker.stop()  # a busy one's caller gets ParserCrashed

    # -- parsing ------------------------------------------------------------------------------------

    def load(self, path: str | Path, source: str | None = None) -> Document:
        """Parse one file (size limit checked first), in a worker unless ``parse_workers`` is 0."""
        from connectors.limits import check_file_size

        check_file_size(path, self.options)
        if self.options.parse_workers <= 0:
            return parse_file(str(path), source, self.options)
        try:
            return self.call(parse_file, str(path), source, self.options, path=path)
        except WorkerError as exc:  # a bug outside the connectors' own error handling
            raise ConnectorError(path, str(exc)) from exc

    def load_many(self, items: Iterable[tuple[str | Path, str | None]]) -> Iterator[Future[Document]]:
        """:meth:`load` of each ``(path, source)``, ``parse_workers`` files at a time, for one caller:
        a Future per file, in order, done or running (its result the Document, or the ConnectorError).
        At most ``parse_workers`` files are parsed ahead of the one whose Future the caller last took;
        one Future in hand and ``parse_workers = 1`` parse like ``load`` in a loop."""
        if self.options.parse_workers <= 0:  # in-process, one by one as the caller asks
            for path, source in items:
                future: Future[Document] = Future()
                try:
                    future.set_result(self.load(path, source))
                except Exception as exc:  # noqa: BLE001 - handed to the caller in the Future
                    future.set_exception(exc)
                yield future
            return
        width = self.options.parse_workers
        pending: deque[Future[Document]] = deque()
        with ThreadPoolExecutor(width, thread_name_prefix="ragkit-parse") as threads:
            try:
                for path, source in items:
                    pending.append(threads.submit(self.load, path, source))
                    if len(pending) >= width:
                        yield pending.popleft()
                while pending:
                    yield pending.popleft()
            finally:  # the caller stopped early: files not started are not parsed
                for future in pending:
                    future.cancel()

    def call(self, function: Callable[..., Any], *args: Any, path: str | Path = "", timeout: float | None = None) -> Any:
        """``function(*args)`` in a worker: its result, its ConnectorError re-raised, another exception
        as WorkerError; ParseTimeout/ParserCrashed (naming ``path``) when the worker hangs or dies."""
        timeout = self.options.parse_timeout if timeout is None else timeout
        worker = self._checkout()
        healthy = False
        try:
            try:
                worker.conn.send((function, args))
                _wait(worker, timeout, path)
            except (OSError, EOFError):
                pass  # the worker is gone: recv below reports how it died
            try:
                status, payload, rss = worker.conn.recv()
            except (EOFError, OSError):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    worker.process.wait(5)
                code = worker.exitcode
                memory = self.options.worker_memory_mb
                raise ParserCrashed(
                    path, f"the parser process died ({_signal_name(code)}); the file may be malformed"
                    + (f" or need more than {memory} MB (limits.worker_memory_mb)" if memory else "")
                ) from None
            limit = self.options.worker_max_rss_mb
            healthy = not (limit and rss > limit) and not (status == "error" and payload[0] == "MemoryError")
            if status == "ok":
                return payload
            if status == "connector":
                raise payload
            raise WorkerError(*payload)
        finally:
            self._checkin(worker, healthy)

    # -- the pool -----------------------------------------------------------------------------------

    def _checkout(self) -> _Worker:
        """An idle worker, else a new one while fewer than ``parse_workers`` live, else the first
        handed back or the slot of the first killed (a caller never waits for a dead worker)."""
        with self._changed:
            while True:
                if self._idle:
                    return self._idle.pop()
                if len(self._all) < max(1, self.options.parse_workers):
                    worker = _Worker(self.options.worker_memory_mb)  # started on first use
                    self._all.append(worker)
                    return worker
                self._changed.wait()

    def _checkin(self, worker: _Worker, healthy: bool) -> None:
        if healthy:
            with self._changed:
                if worker in self._all:  # not stopped by close() meanwhile
                    self._idle.append(worker)
                self._changed.notify()
            return
        worker.stop(kill=True)  # before its slot is offered: never more live workers than parse_workers
        with self._changed:
            if worker in self._all:
                self._all.remove(worker)
            self.replaced += 1
            self._changed.notify()  # the next caller starts a fresh one


def warm_up(guard: ParseGuard, timeout: float = 60.0) -> float:
    """Start one worker and wait until it answers; seconds it took (for benchmarks)."""
    started = time.perf_counter()
    guard.call(os.getpid, timeout=timeout)
    return time.perf_counter() - started
