"""The manifest's SQLite connections: the writer's (schema, migrations and the graph's tables made on
first open) and the per-thread read connections that :mod:`ragkit.store.snapshots` pins."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from graphs.store import GRAPH_SCHEMA
from ragkit.store.manifest import SCHEMA, migrate

MANIFEST = "manifest.sqlite"


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the manifest of the store at ``path`` (autocommit: transactions are explicit)."""
    return sqlite3.connect(path / MANIFEST, timeout=60, isolation_level=None, check_same_thread=False)


def open_manifest(path: Path) -> sqlite3.Connection:
    """The writer's connection: WAL mode, the schema made or migrated, the graph's tables."""
    path.mkdir(parents=True, exist_ok=True)
    db = connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA recursive_triggers=ON")  # REPLACE fires delete triggers (the row counters)
    db.executescript(SCHEMA)
    migrate(db)
    db.executescript(GRAPH_SCHEMA)
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction on ``db`` (BEGIN IMMEDIATE: it waits for other writers), rolled back on error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
