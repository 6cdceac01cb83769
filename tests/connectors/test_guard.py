"""ParseGuard: files parsed in reused worker processes; a hang, a crash or a memory blow-up in the
worker becomes a ConnectorError naming the file, and the next file gets a fresh worker."""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

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
