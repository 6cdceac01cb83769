"""Consistent reads: each thread's pinned manifest snapshot (one committed generation), and the retry of
a read that the vector store, which has no snapshots, raced (see :meth:`ragkit.store.Store.read_consistent`)."""
from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ragkit.indexes.chroma import ChromaVectorStore
from ragkit.store.connections import connect

if TYPE_CHECKING:
    from ragkit.store.catalog import Store

READ_ATTEMPTS = 4  # tries of a consistent read while writers commit (see Store.read_consistent)
T = TypeVar("T")


def committed_generation(db: sqlite3.Connection) -> int:
    """The generation committed as ``db`` sees it (0: nothing committed yet)."""
    row = db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
    return int(json.loads(row[0])) if row else 0


class Snapshots:
    """Per thread: a read connection of its own and, inside :meth:`pin`, the snapshot it holds open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._guard = threading.Lock()

    @property
    def pinned(self) -> sqlite3.Connection | None:
        """This thread's pinned read connection, or None outside a snapshot."""
        conn: sqlite3.Connection | None = getattr(self._local, "pinned", None)
        return conn

    @property
    def generation(self) -> int:
        """The generation this thread pinned (inside a snapshot)."""
        gen: int = self._local.generation
        return gen

    @contextmanager
    def pin(self, prepare: Callable[[], object]) -> Iterator[int]:
        """Hold one read transaction on this thread's connection and yield its generation; re-entrant
        (an inner pin stays on the outer one's generation). ``prepare`` runs before the first read
        (it makes the schema and the store's identity)."""
        if self.pinned is not None:
            yield self.generation
            return
        prepare()
        conn: sqlite3.Connection | None = getattr(self._local, "reader", None)
        if conn is None:
            conn = connect(self.path)
            self._local.reader = conn
            with self._guard:
                self._readers.append(conn)
        conn.execute("BEGIN")
        try:
            self._local.generation = committed_generation(conn)  # the first read starts the snapshot
            self._local.pinned = conn
            yield self.generation
        finally:
            self._local.pinned = None
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close every thread's read connection."""
        with self._guard:
            readers, self._readers = self._readers, []
        for reader in readers:
            reader.close()
        self._local = threading.local()


def read_consistent(store: Store, read: Callable[[int], T], attempts: int = READ_ATTEMPTS) -> T:
    """``read(generation)`` inside a snapshot of ``store``, retried on the newest generation when a
    vector-store race or a commit moved under it (the races: :meth:`ragkit.store.Store.read_consistent`)."""
    snapshots = store._snapshots
    if snapshots.pinned is not None:  # a caller pinned the generation
        return read(snapshots.generation)
    for attempt in range(attempts):
        last = attempt == attempts - 1
        with store.snapshot() as gen:
            fresh_vectors(store, gen)
            try:
                result = read(gen)
            except Exception as exc:
                if last or not (ChromaVectorStore.is_vector_race(exc) or latest_generation(store) != gen):
                    raise
                refresh_vectors(store, gen)
                continue
        if last or latest_generation(store) == gen:
            return result
    raise AssertionError("unreachable")


def latest_generation(store: Store) -> int:
    """The newest committed generation (read outside any snapshot)."""
    return committed_generation(store._main_db())


def fresh_vectors(store: Store, gen: int) -> None:
    """An embedded chroma keeps the view of its collection that this process loaded (chroma#3792):
    another process's writes stay invisible to its HNSW index. Reload it when the generation moved
    since it was loaded."""
    if store._vectors_gen != gen:
        refresh_vectors(store, gen)


def refresh_vectors(store: Store, gen: int) -> None:
    if store._vectors is not None:
        store._vectors.refresh()
    store._vectors_gen = gen
