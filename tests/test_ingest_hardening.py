"""Ingest hardening: limits, a per-file parse timeout, a parser crash, unreadable paths and symlinks
out of the root are reported per file; the rest of the folder is indexed and the store stays consistent."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

import connectors.guard
import ragkit
from tests.conftest import hash_config, write_files
from tests.test_ingest import assert_consistent


def hostile_parse(path, source, options):
    """The real parse, except for files that hang or crash the parser (run in the parse worker)."""
    name = Path(path).name
    if name.startswith("hang"):
        time.sleep(600)
    if name.startswith("crash"):
        os.kill(os.getpid(), signal.SIGSEGV)
    return connectors.guard.parse_file(path, source, options)


def _kit(tmp_path: Path, **limits):
    config = hash_config()
    for key, value in limits.items():
        config.set(f"limits.{key}", value)
    return ragkit.open(tmp_path / "store", config)


def _failed(report) -> dict[str, str]:
    return {Path(f["path"]).name: f["error"] for f in report.failed}


def test_hang_and_crash_reported_rest_indexed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the guard sends its parse function to the worker by name: this module's, which hangs or crashes
    monkeypatch.setattr(connectors.guard, "parse_file", hostile_parse)
    docs = write_files(tmp_path / "docs", {
        "a.md": "# A\n\nFirst good file.", "hang.md": "never parsed", "crash.md": "never parsed",
        "z.md": "# Z\n\nLast good file.",
    })
    kit = _kit(tmp_path, parse_timeout=2)
    started = time.monotonic()
    report = kit.index([docs])
    assert time.monotonic() - started < 60
    failed = _failed(report)
    assert set(failed) == {"hang.md", "crash.md"} and report.added == 2
    assert failed["hang.md"] == (f"{docs / 'hang.md'}: parsing took longer than 10 s (5 x limits.parse_timeout) "
                                 "without finishing; the parser was stopped")
    assert failed["crash.md"].startswith(f"{docs / 'crash.md'}: the parser process died (SIGSEGV)")
    assert {Path(d["source"]).name for d in kit.documents()} == {"a.md", "z.md"}
    assert {Path(f["path"]).name for f in kit.store.failures()} == {"hang.md", "crash.md"}
    assert_consistent(kit)
    kit.close()


def test_limits_are_reported_per_file(tmp_path: Path) -> None:
    rows = "\n".join(f"r{i},{i}" for i in range(200))
    docs = write_files(tmp_path / "docs", {
        "big.txt": "x " * 600_000,  # 1.2 MB
        "rows.csv": "name,value\n" + rows,  # one chunk per row: over max_chunks
        "long.md": "word " * 50_000,  # 250,000 characters
        "ok.md": "# Fine\n\nA small file.",
    })
    kit = _kit(tmp_path, max_file_mb=1, max_chunks=50, max_chars=200_000)
    report = kit.index([docs])
    failed = _failed(report)
    assert set(failed) == {"big.txt", "rows.csv", "long.md"} and report.added == 1
    assert "file size (MB) 1.1 is over the limit of 1 (limits.max_file_mb in the config)" in failed["big.txt"]
    assert "is over the limit of 50 (limits.max_chunks in the config)" in failed["rows.csv"]
    assert "characters 249,999 is over the limit of 200,000 (limits.max_chars in the config)" in failed["long.md"]
    for name, error in failed.items():
        assert error.startswith(str(docs / name))
    assert {Path(f["path"]).name for f in kit.store.failures()} == set(failed)
    assert_consistent(kit)
    # raising a limit indexes the file on the next run; its failure is cleared
    kit.config.set("limits.max_chunks", 1000)
    second = kit.index([docs])
    assert second.added == 1 and set(_failed(second)) == {"big.txt", "long.md"}
    assert {Path(f["path"]).name for f in kit.store.failures()} == {"big.txt", "long.md"}
    assert_consistent(kit)
    kit.close()


def test_unreadable_file_and_folder_reported_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = write_files(tmp_path / "docs", {
        "ok.md": "Readable.", "secret.md": "No access.", "locked/inner.md": "Indexed once, then locked.",
    })
    kit = _kit(tmp_path)
    assert kit.index([docs]).added == 3
    os.chmod(docs / "secret.md", 0)
    os.chmod(docs / "locked", 0)
    try:
        if os.geteuid() == 0:  # root reads anything: make open/scandir refuse as they do for a user
            real_open, real_scandir = open, os.scandir

            def deny(path: object) -> None:
                if isinstance(path, (str, Path)) and str(path).startswith(str(docs)) and os.stat(path).st_mode & 0o777 == 0:
                    raise PermissionError(13, "Permission denied", str(path))

            monkeypatch.setattr("builtins.open", lambda p, *a, **k: deny(p) or real_open(p, *a, **k))
            monkeypatch.setattr(os, "scandir", lambda p=".": deny(p) or real_scandir(p))
        (docs / "ok.md").write_text("Readable, changed.")
        report = kit.index([docs])
    finally:
        monkeypatch.undo()
        os.chmod(docs / "secret.md", 0o644)
        os.chmod(docs / "locked", 0o755)
    failed = _failed(report)
    assert failed == {
        "secret.md": f"{docs / 'secret.md'}: cannot read file: Permission denied",
        "locked": f"{docs / 'locked'}: cannot read folder: Permission denied",
    }
    assert report.updated == 1 and report.deleted == 0  # what was indexed under the locked folder stays
    assert {Path(d["source"]).name for d in kit.documents()} == {"ok.md", "secret.md", "inner.md"}
    assert_consistent(kit)
    kit.close()


def test_symlinks_out_of_the_root_are_not_indexed(tmp_path: Path) -> None:
    outside = write_files(tmp_path / "outside", {"private.md": "Outside the root.", "dir/more.md": "More."})
    docs = write_files(tmp_path / "docs", {"in.md": "Inside the root."})
    os.symlink(outside / "private.md", docs / "link.md")
    os.symlink(outside / "dir", docs / "linked-dir")
    os.symlink(docs, docs / "loop")
    kit = _kit(tmp_path)
    report = kit.index([docs])
    assert report.added == 1 and not report.failed
    assert [Path(d["source"]).name for d in kit.documents()] == ["in.md"]
    kit.close()


def pid_parse(path, source, options):
    """The real parse after a 2 s sleep, its Document stamped with the worker's pid (in the worker)."""
    time.sleep(2.0)
    doc = connectors.guard.parse_file(path, source, options)
    doc.metadata["pid"] = os.getpid()
    return doc


def test_parse_workers_parse_files_of_one_ingest_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``limits.parse_workers = 2``: ``ragkit index`` keeps two worker processes busy (it used one)."""
    monkeypatch.setattr(connectors.guard, "parse_file", pid_parse)
    docs = write_files(tmp_path / "docs", {"a.md": "# A\n\nFirst.", "b.md": "# B\n\nSecond."})
    kit = _kit(tmp_path, parse_workers=2)
    assert kit.index([docs]).added == 2
    assert len({d["metadata"]["pid"] for d in kit.documents()}) == 2
    kit.close()
