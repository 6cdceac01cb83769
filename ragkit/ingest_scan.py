"""The scan of one ingest, kept on disk: a file's path, hash, size, labels and state per row.

An ingest must see the whole folder before it commits its first batch (the deletes of vanished files
go with it), so it records every file it finds. Held in Python objects that would cost ~700 bytes per
file (70 MB for 100,000 files, docs/benchmarks.md); here the records go to a private temporary SQLite
database (``sqlite3.connect("")``: a file SQLite deletes on close, with a page cache of a few MB), so
the scan's memory stays flat however many files there are. Hand-written because it is a few SQL
statements over the standard library's sqlite3.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from ragkit.executors.base import FileTask

CHANGED, UNCHANGED, RELABELED, SKIPPED = 0, 1, 2, 3  # SKIPPED: seen, but not indexed (a bad sidecar)


class ScanLog:
    """Files seen by one scan, in scan order, each once."""

    def __init__(self) -> None:
        self.db = sqlite3.connect("")  # a private temporary database on disk, removed on close
        self.db.execute(
            "CREATE TABLE files (source TEXT PRIMARY KEY, state INTEGER, root TEXT, digest TEXT, size INTEGER,"
            " labels TEXT, given TEXT, seq INTEGER, path TEXT, meta TEXT)"
        )
        self.db.execute("CREATE INDEX files_state ON files(state, seq)")
        self.rows = 0
        self.changed = 0

    def __contains__(self, source: object) -> bool:
        return self.db.execute("SELECT 1 FROM files WHERE source=?", (source,)).fetchone() is not None

    def add(self, source: str, state: int, root: str | None = None, digest: str = "", size: int = 0,
            labels: tuple[list[str], list[str]] = ([], []), path: str | None = None,
            meta: dict[str, Any] | None = None) -> None:
        """Record ``source`` (not seen before) with its state and, for a changed file, what its task needs:
        the file to read (``path``, default ``source``) and the metadata given to its document."""
        self.db.execute(
            "INSERT INTO files VALUES (?,?,?,?,?,?,?,?,?,?)",
            (source, state, root, digest, size, json.dumps(labels[0]), json.dumps(labels[1]), self.rows,
             path or source, json.dumps(meta or {}, sort_keys=True)),
        )
        self.rows += 1
        self.changed += state == CHANGED

    def state(self, source: str) -> int | None:
        row = self.db.execute("SELECT state FROM files WHERE source=?", (source,)).fetchone()
        return None if row is None else int(row[0])

    def labels(self, source: str) -> tuple[list[str], list[str]]:
        """(access labels, labels given at ingest) resolved for ``source`` by the scan."""
        row = self.db.execute("SELECT labels, given FROM files WHERE source=?", (source,)).fetchone()
        return json.loads(row[0]), json.loads(row[1])

    def tasks(self) -> Iterator[FileTask]:
        """The changed files' tasks in scan order, read from disk a page at a time."""
        cursor = self.db.execute(
            "SELECT root, path, source, digest, size, meta, labels FROM files WHERE state=? ORDER BY seq", (CHANGED,)
        )
        for root, path, source, digest, size, meta, labels in cursor:
            yield FileTask(root, path, source, digest, size, json.loads(meta), json.loads(labels))

    def close(self) -> None:
        self.db.close()
