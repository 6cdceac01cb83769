"""ParseGuard: files parsed in reused worker processes; a hang, a crash or a memory blow-up in the
worker becomes a ConnectorError naming the file, and the next file gets a fresh worker."""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

import connectors.guard
from connectors.base import ConnectorError
from connectors.guard import ParseGuard, ParserCrashed, ParseTimeout, WorkerError
from connectors.limits import LimitExceeded
from connectors.registry import load
from ragkit.types import ConnectorOptions
from tests.fixtures_docs import make_text_pdf

# Functions the workers run (module-level, so they pickle by name into the spawned worker).
_HOARD: list[bytes] = []


def hang(seconds: float) -> None:
    time.sleep(seconds)


def spin() -> None:
    while True:
        pass


def segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def allocate(mb: int) -> int:
    return len(bytearray(mb * 2**20))


def hoard(mb: int) -> int:
    """Keep ``mb`` of touched memory alive in the worker (its RSS stays high)."""
    _HOARD.append(b"\x01" * (mb * 2**20))
    return os.getpid()


def stamp(seconds: float) -> tuple[int, float, float]:
    """Sleep ``seconds`` in the worker: its pid, and when the sleep began and ended (wall clock)."""
    started = time.time()
    time.sleep(seconds)
    return os.getpid(), started, time.time()


def slow_parse(path, source, options):
    """The real parse after a second's sleep, its Document stamped with the worker's pid and times."""
    started = time.time()
    time.sleep(1.0)
    doc = connectors.guard.parse_file(path, source, options)  # in the worker: the guard's own
    doc.metadata.update(pid=os.getpid(), started=started, ended=time.time())
    return doc


def reject(path: str) -> None:
    raise ConnectorError(path, "not a real document")


def fail() -> None:
    raise KeyError("bug")


def options(**limits: object) -> ConnectorOptions:
    return ConnectorOptions(ocr_engine="none", **limits)  # type: ignore[arg-type]


@pytest.fixture
def guard():
    with ParseGuard(options(parse_timeout=30)) as g:
        yield g


def test_documents_come_back_as_parsed_in_process(guard: ParseGuard, tmp_path: Path) -> None:
    pdf = make_text_pdf(tmp_path / "a.pdf", [["Alpine glaciers retreat."], ["Page two text."]])
    md = tmp_path / "b.md"
    md.write_text("# Title\n\nSome text under a title.\n", encoding="utf-8")
    for path in (pdf, md):
        direct = load(path, str(path), options())
        guarded = guard.load(path, str(path))
        assert guarded.text == direct.text and guarded.blocks == direct.blocks
        assert guarded.content_hash == direct.content_hash and guarded.metadata == direct.metadata


def test_workers_are_reused(guard: ParseGuard) -> None:
    pids = {guard.call(os.getpid) for _ in range(5)}
    assert len(pids) == 1 and os.getpid() not in pids


def test_connector_error_crosses_intact_other_errors_are_worker_errors(guard: ParseGuard, tmp_path: Path) -> None:
    with pytest.raises(ConnectorError) as err:
        guard.call(reject, str(tmp_path / "x.bin"))
    assert err.value.path == str(tmp_path / "x.bin") and err.value.reason == "not a real document"
    with pytest.raises(WorkerError) as bug:
        guard.call(fail)
    assert bug.value.kind == "KeyError" and "fail" in bug.value.trace
    assert guard.call(os.getpid)  # the worker survived both


@pytest.mark.parametrize("function,args,message", [
    (spin, (), r"x\.pdf: parsing took more than 1 s of CPU time \(limits\.parse_timeout\); the parser was stopped"),
    (hang, (60,), r"x\.pdf: parsing took longer than 5 s \(5 x limits\.parse_timeout\) without finishing"),
])
def test_a_hang_is_stopped_at_the_timeout(guard: ParseGuard, function, args, message) -> None:
    """A parser computing forever is stopped after parse_timeout seconds of CPU time, a blocked one
    after 5 times that in wall-clock time."""
    first = guard.call(os.getpid)
    started = time.monotonic()
    with pytest.raises(ParseTimeout, match=message):
        guard.call(function, *args, path="x.pdf", timeout=1)
    assert time.monotonic() - started < 10
    with pytest.raises(ProcessLookupError):  # the hung worker is gone, not left running
        for _ in range(50):
            os.kill(first, 0)
            time.sleep(0.1)
    assert guard.call(os.getpid) != first and guard.replaced == 1


def test_a_crash_is_reported_and_the_next_file_parses(guard: ParseGuard, tmp_path: Path) -> None:
    with pytest.raises(ParserCrashed, match=r"bad\.pdf: the parser process died \(SIGSEGV\)"):
        guard.call(segfault, path="bad.pdf")
    md = tmp_path / "ok.md"
    md.write_text("still fine\n", encoding="utf-8")
    assert guard.load(md).text == "still fine"


def test_memory_is_capped_in_the_worker() -> None:
    with ParseGuard(options(worker_memory_mb=1024)) as guard:
        first = guard.call(os.getpid)
        with pytest.raises(WorkerError) as err:
            guard.call(allocate, 4096)  # over the address-space cap: fails in the worker, not the parent
        assert err.value.kind == "MemoryError"
        assert guard.call(allocate, 64) == 64 * 2**20
        assert guard.call(os.getpid) != first  # replaced after a MemoryError


def test_a_worker_left_big_is_replaced() -> None:
    with ParseGuard(options(worker_max_rss_mb=150)) as guard:
        small = guard.call(hoard, 1)
        assert guard.call(os.getpid) == small
        big = guard.call(hoard, 300)
        assert big == small and guard.call(os.getpid) != big


def test_concurrent_callers_use_several_workers(tmp_path: Path) -> None:
    with ParseGuard(options(parse_workers=2)) as guard:
        pids: list[int] = []

        def run() -> None:
            guard.call(hang, 1.5)
            pids.append(guard.call(os.getpid))

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(guard._all) == 2 and len(pids) == 2


def test_limits_are_connector_errors(tmp_path: Path) -> None:
    pdf = make_text_pdf(tmp_path / "three.pdf", [["one"], ["two"], ["three"]])
    with ParseGuard(options(max_pages=2)) as guard, pytest.raises(LimitExceeded) as err:
        guard.load(pdf)
    assert str(err.value) == f"{pdf}: page count 3 is over the limit of 2 (limits.max_pages in the config)"
    big = tmp_path / "big.md"
    big.write_text("word " * 300_000, encoding="utf-8")  # 1.5 MB
    with ParseGuard(options(max_file_mb=1)) as guard, pytest.raises(LimitExceeded, match=r"big\.md: file size \(MB\) 1\.4 is over the limit of 1 \(limits\.max_file_mb"):
        guard.load(big)
    with ParseGuard(options(max_chars=1000)) as guard, pytest.raises(LimitExceeded, match=r"characters 1,499,999 is over the limit of 1,000 \(limits\.max_chars"):
        guard.load(big)
    with ParseGuard(options(max_chars=0, max_file_mb=0, max_pages=0)) as guard:
        assert len(guard.load(big).text) == 1_499_999 and len(guard.load(pdf).blocks) == 3


def test_in_process_when_no_workers(tmp_path: Path) -> None:
    md = tmp_path / "a.md"
    md.write_text("text\n", encoding="utf-8")
    with ParseGuard(options(parse_workers=0)) as guard:
        assert guard.load(md).text == "text" and not guard._all


def test_close_stops_the_workers() -> None:
    guard = ParseGuard(options())
    pid = guard.call(os.getpid)
    guard.close()
    with pytest.raises(ProcessLookupError):
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)


def test_workers_die_with_a_killed_indexer(tmp_path: Path) -> None:
    """An indexer killed by SIGKILL while its worker parses leaves no worker behind."""
    import subprocess
    import sys

    from tests.conftest import REPO

    script = (
        "import os, sys\n"
        "from connectors.guard import ParseGuard\n"
        "from tests.connectors.test_guard import hang\n"
        "guard = ParseGuard()\n"
        "print(guard.call(os.getpid), flush=True)\n"
        "guard.call(hang, 600, timeout=600)\n"
    )
    indexer = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    worker = int(indexer.stdout.readline())
    time.sleep(0.5)
    indexer.kill()
    indexer.wait()
    with pytest.raises(ProcessLookupError):
        for _ in range(100):
            os.kill(worker, 0)
            time.sleep(0.1)


def _run_in_threads(*targets, wait: float = 30.0) -> None:
    """Run each target in its own daemon thread, started 0.3 s apart, and join them all within
    ``wait`` seconds: a caller stuck in the guard fails the test instead of hanging it."""
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for thread in threads:
        thread.start()
        time.sleep(0.3)
    deadline = time.monotonic() + wait
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"callers still waiting for a worker after {wait:g} s: {stuck}"


def test_a_caller_waiting_for_the_worker_gets_one_after_a_timeout() -> None:
    """One worker, two callers: the first file hangs and times out; the caller queued behind it
    gets a fresh worker instead of waiting forever for the killed one."""
    with ParseGuard(options(parse_workers=1)) as guard:
        first = guard.call(os.getpid)
        outcome: dict[str, object] = {}

        def hung() -> None:
            with pytest.raises(ParseTimeout) as err:
                guard.call(hang, 60, path="hang.pdf", timeout=1)
            outcome["hung"] = str(err.value)

        def queued() -> None:
            outcome["queued"] = guard.call(os.getpid, timeout=30)

        _run_in_threads(hung, queued)
        assert outcome["hung"] == ("hang.pdf: parsing took longer than 5 s (5 x limits.parse_timeout) "
                                   "without finishing; the parser was stopped")
        assert isinstance(outcome["queued"], int) and outcome["queued"] not in (first, os.getpid())
        assert guard.replaced == 1 and len(guard._all) == 1


def test_every_kind_of_killed_worker_hands_the_pool_on(tmp_path: Path) -> None:
    """A timeout, a crash and a memory blow-up, queued on one worker, each kill it; every caller
    finishes, and afterwards the pool holds one live worker that parses."""
    with ParseGuard(options(parse_workers=1, worker_memory_mb=1024)) as guard:
        guard.call(os.getpid)
        errors: dict[str, BaseException] = {}

        def failing(name: str, function, *args) -> object:
            def run() -> None:
                try:
                    guard.call(function, *args, path=f"{name}.pdf", timeout=1)
                except (ParseTimeout, ParserCrashed, WorkerError) as exc:
                    errors[name] = exc
            return run

        _run_in_threads(failing("spin", spin), failing("crash", segfault), failing("memory", allocate, 4096))
        assert isinstance(errors["spin"], ParseTimeout) and isinstance(errors["crash"], ParserCrashed)
        assert isinstance(errors["memory"], WorkerError) and errors["memory"].kind == "MemoryError"
        assert guard.replaced == 3
        md = tmp_path / "ok.md"
        md.write_text("still fine\n", encoding="utf-8")
        assert guard.load(md).text == "still fine"
        assert len(guard._all) == 1 and guard._all[0].exitcode is None


def test_two_workers_parse_two_files_at_once() -> None:
    """``parse_workers = 2`` and two callers: two worker processes, each running one call, at once."""
    with ParseGuard(options(parse_workers=2)) as guard:
        stamps: list[tuple[int, float, float]] = []
        _run_in_threads(lambda: stamps.append(guard.call(stamp, 1.5)), lambda: stamps.append(guard.call(stamp, 1.5)))
        (pid_a, start_a, end_a), (pid_b, start_b, end_b) = stamps
        assert pid_a != pid_b and max(start_a, start_b) < min(end_a, end_b)  # the two sleeps overlap
        assert len(guard._all) == 2


def test_the_pool_is_back_to_its_size_after_a_crash() -> None:
    with ParseGuard(options(parse_workers=2)) as guard:
        with pytest.raises(ParserCrashed):
            guard.call(segfault, path="bad.pdf")
        stamps: list[tuple[int, float, float]] = []
        _run_in_threads(lambda: stamps.append(guard.call(stamp, 1.5)), lambda: stamps.append(guard.call(stamp, 1.5)))
        assert len({pid for pid, _, _ in stamps}) == 2
        assert len(guard._all) == 2 and all(w.exitcode is None for w in guard._all)


def test_load_many_parses_parse_workers_files_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One caller (the indexer parses a batch from one thread) still keeps ``parse_workers`` workers
    busy: ``load_many`` parses that many files at once, and hands them back in order."""
    monkeypatch.setattr(connectors.guard, "parse_file", slow_parse)  # sent to the worker by name
    files = []
    for name in ("a.md", "b.md", "c.md", "d.md"):
        files.append(tmp_path / name)
        files[-1].write_text(f"text of {name}\n", encoding="utf-8")
    missing = tmp_path / "missing.md"
    with ParseGuard(options(parse_workers=2)) as guard:
        futures = list(guard.load_many([(p, str(p)) for p in files[:2]] + [(missing, None)] + [(p, str(p)) for p in files[2:]]))
        docs = [f.result(timeout=60) for f in futures[:2] + futures[3:]]
        assert [d.source for d in docs] == [str(p) for p in files]
        assert [d.text for d in docs] == [f"text of {p.name}" for p in files]
        first, second = docs[0].metadata, docs[1].metadata
        assert first["pid"] != second["pid"]
        assert max(first["started"], second["started"]) < min(first["ended"], second["ended"])
        with pytest.raises(ConnectorError, match=r"missing\.md: cannot read file"):
            futures[2].result(timeout=60)
    monkeypatch.undo()  # in-process, slow_parse would call itself
    with ParseGuard(options(parse_workers=0)) as guard:  # in-process: the same Futures, no workers
        assert [f.result().text for f in guard.load_many([(files[0], None)])] == ["text of a.md"] and not guard._all
