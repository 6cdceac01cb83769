"""The scan of one ingest: each file's state (unchanged, relabelled, changed, failed) decided against the
store (:class:`Scan`), and kept on disk: a file's path, hash, size, labels and state per row (:class:`ScanLog`).

An ingest must see the whole folder before it commits its first batch (the deletes of vanished files
go with it), so it records every file it finds. Held in Python objects that would cost ~700 bytes per
file (70 MB for 100,000 files, docs/benchmarks.md); here the records go to a private temporary SQLite
database (``sqlite3.connect("")``: a file SQLite deletes on close, with a page cache of a few MB), so
the scan's memory stays flat however many files there are. Hand-written because it is a few SQL
statements over the standard library's sqlite3.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ragkit.executors.base import FileTask
from ragkit.ingest.report import IndexReport
from ragkit.store import Store
from ragkit.types import ConnectorOptions

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


class Scan:
    """One ingest's scan: each file's state (unchanged, relabelled, changed, failed) decided against the
    store and recorded in a :class:`ScanLog`, with its labels and the metadata its document gets."""

    def __init__(self, store: Store, report: IndexReport, meta: dict[str, Any], given: list[str] | None,
                 options: ConnectorOptions):
        self.store, self.report, self.meta, self.given, self.options = store, report, meta, given, options
        self.log = ScanLog()
        self.relabels: dict[str, tuple[list[str], list[str]]] = {}  # committed with the first batch
        self.failures: dict[str, tuple[str | None, str]] = {}  # unreadable or too large: kept in the manifest

    def file(self, path: Path, source: str, root: str, resolve: Callable[[list[str]], list[str]]) -> None:
        """Scan one file read from ``path`` as document ``source``; ``resolve(given)`` -> its labels."""
        from connectors.base import ConnectorError
        from connectors.limits import check_file_size
        from ragkit.access import AccessError

        store, log = self.store, self.log
        try:
            check_file_size(path, self.options)  # a huge file is never read
            digest, size = file_digest(path)
        except ConnectorError as exc:
            self.failures[source] = (root, named(str(exc), str(path), source))
            log.add(source, SKIPPED)
            return
        except OSError as exc:
            self.failures[source] = (root, f"{source}: cannot read file: {exc.strerror or exc}")
            log.add(source, SKIPPED)
            return
        stored = store.doc_state(source)
        old_labels, old_given = (stored[1], stored[2]) if stored else ([], [])
        mine = old_given if self.given is None else self.given
        try:
            now_labels = resolve(list(mine))
        except AccessError as exc:  # an unreadable or bad sidecar: the file is not indexed
            self.report.failed.append({"path": source, "error": str(exc)})
            log.add(source, SKIPPED)
            return
        now = (now_labels, list(mine))
        meta = self.meta
        if stored and stored[0] == digest and (not meta or meta_matches(store.doc_metadata(source), meta)):
            if now != (sorted(old_labels), sorted(old_given)):
                self.relabels[source] = now
                self.report.relabeled += 1
                log.add(source, RELABELED)
            else:
                self.report.unchanged += 1
                log.add(source, UNCHANGED)
            return
        # metadata once given is kept until the user changes it (like labels): the new keys over the old
        kept = {**store.doc_given_meta(source), **meta} if stored else meta
        log.add(source, CHANGED, root, digest, size, now, path=str(path), meta=kept)


def file_digest(path: Path) -> tuple[str, int]:
    """The content hash of a file (as ``connectors.base.content_hash`` of its bytes) and its size,
    read in blocks so a large file is never held whole."""
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256")
        size = fh.tell()
    return digest.hexdigest(), size


def named(error: str, path: str, source: str) -> str:
    """An error about the file read from ``path`` worded about its document ``source`` (an upload's
    temporary file is named by the source it is stored as)."""
    return error if path == source else error.replace(path, source)


def meta_matches(stored: dict[str, Any], meta: dict[str, Any]) -> bool:
    return all(str(stored.get(k)) == str(v) for k, v in meta.items())
