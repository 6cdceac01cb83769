"""The store directory as one unit: a SQLite manifest (the source of truth for documents, chunks and
the embedding cache), a chroma vector collection and a bm25s lexical index derived from it.

The write protocol lives in :mod:`ragkit.ingest` (``Indexer.write``); finding and repairing damage to
the derived parts in :mod:`ragkit.integrity`.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from graphs.store import GRAPH_SCHEMA, delete_document_graph, write_document_graph
from ragkit.access import Scope, visible_sql
from ragkit.config import Config
from ragkit.store import generations
from ragkit.indexes.bm25 import Bm25Index
from ragkit.indexes.chroma import ChromaVectorStore
from ragkit.store.lock import StoreLockedError, writer_lock
from ragkit.store.manifest import (
    CHUNK_SELECT, SCHEMA, blocks_from_json, blocks_to_json, chunk_to_row, migrate, row_to_chunk,
)
from ragkit.indexes.segments import SegmentedIndex
from ragkit.types import Chunk, Document

__all__ = ["Store", "StoreLockedError", "StoreMismatchError"]

MANIFEST = "manifest.sqlite"
VECTORS = "vectors"
LEXICAL = "lexical"
LOCK = "write.lock"
LEGACY_COLLECTION = "chunks"  # stores made before collection names carried the store id
READ_ATTEMPTS = 4  # tries of a consistent read while writers commit (see Store.read_consistent)
T = TypeVar("T")


class StoreMismatchError(RuntimeError):
    """The store was built with another embedder or chunker than the current config."""


class Store:
    """One store directory. Cheap to construct; opens its parts on first use."""

    def __init__(self, path: str | Path, config: Config | None = None):
        self.path = Path(path)
        self.config = config or Config.load(self.path)
        self._db: sqlite3.Connection | None = None
        self._vectors: ChromaVectorStore | None = None
        self._vectors_gen: int | None = None  # a generation committed before the vector view was loaded
        self._lexical: tuple[int, SegmentedIndex | Bm25Index] | None = None
        # what the last commit changed, for an O(changed) lexical publish: (base gen, gen, removed ids, added)
        self._lexical_delta: tuple[int, int, set[str], list[tuple[str, str]]] | None = None
        self._local = threading.local()  # per thread: its read connection and the snapshot it pins
        self._readers: list[sqlite3.Connection] = []
        self._guard = threading.Lock()

    # -- parts --------------------------------------------------------------------------------------

    @property
    def db(self) -> sqlite3.Connection:
        """The manifest connection; inside :meth:`snapshot`, this thread's pinned read snapshot."""
        pinned = getattr(self._local, "pinned", None)
        return pinned if pinned is not None else self._main_db()

    def _main_db(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path / MANIFEST, timeout=60, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA recursive_triggers=ON")  # REPLACE fires delete triggers (the row counters)
            db.executescript(SCHEMA)
            migrate(db)
            db.executescript(GRAPH_SCHEMA)
            self._db = db
            self._ensure_identity(db)
        return self._db

    def _ensure_identity(self, db: sqlite3.Connection) -> None:
        """Give the store an id (once) and a vector collection named after it, so two stores on one
        chroma server never share a collection. Stores made before keep their ``chunks`` collection."""
        if self.get_meta("store_id") is not None:
            return
        with self.transaction() as tx:
            if tx.execute("SELECT value FROM meta WHERE key='store_id'").fetchone():
                return
            store_id = uuid.uuid4().hex
            self.set_meta(tx, "store_id", store_id)
            if tx.execute("SELECT value FROM meta WHERE key='collection'").fetchone() is None:
                legacy = tx.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] > 0
                self.set_meta(tx, "collection", LEGACY_COLLECTION if legacy else f"{self.collection_prefix(store_id)}0")

    @staticmethod
    def collection_prefix(store_id: str) -> str:
        return f"ragkit-{store_id[:16]}-"

    @property
    def store_id(self) -> str:
        return str(self.get_meta("store_id"))

    def new_collection_name(self) -> str:
        """A fresh collection name owned by this store (for ``--rebuild`` and repairs)."""
        return f"{self.collection_prefix(self.store_id)}{uuid.uuid4().hex[:8]}"

    def owns_collection(self, name: str) -> bool:
        """Whether ``name`` is a collection this store created (the only ones it may delete)."""
        return name == LEGACY_COLLECTION and self.config.vector_store.name == "chroma" or name.startswith(
            self.collection_prefix(self.store_id)
        )

    @property
    def collection_name(self) -> str:
        return str(self.get_meta("collection", LEGACY_COLLECTION))

    @property
    def vectors(self) -> ChromaVectorStore:
        """The committed vector collection (a rebuild writes a new one and commits its name)."""
        name = self.collection_name
        if self._vectors is None or self._vectors.collection_name != name:
            self._vectors = self.vector_collection(name)
        return self._vectors

    def vector_collection(self, name: str) -> ChromaVectorStore:
        return ChromaVectorStore(self.path / VECTORS, self.config.vector_store, collection=name)

    def close(self) -> None:
        with self._guard:
            readers, self._readers = self._readers, []
        for reader in readers:
            reader.close()
        self._local = threading.local()
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._vectors is not None:
            self._vectors.close()
        self._vectors = None
        self._lexical = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._main_db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def writer(self, wait: float = 0.0):  # noqa: ANN201 - a context manager
        """Hold the store's single-writer lock (see :func:`ragkit.store.lock.writer_lock`)."""
        return writer_lock(self.path / LOCK, wait)

    # -- consistent reads -----------------------------------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[int]:
        """Pin one committed generation for this thread and yield it.

        Inside, every manifest read of this thread (``db``, so chunks, filters, the lexical index's
        generation, graph rows) goes through one SQLite read transaction on a connection of its own:
        WAL mode serves it the state of one commit, whatever writers commit meanwhile. Re-entrant: an
        inner snapshot stays on the outer one's generation. Writes (``transaction``) never use it.
        """
        if getattr(self._local, "pinned", None) is not None:
            yield self._local.generation
            return
        self._main_db()  # schema and identity exist before a reader looks
        conn = getattr(self._local, "reader", None)
        if conn is None:
            conn = sqlite3.connect(self.path / MANIFEST, timeout=60, isolation_level=None, check_same_thread=False)
            self._local.reader = conn
            with self._guard:
                self._readers.append(conn)
        conn.execute("BEGIN")
        try:
            row = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()  # starts the snapshot
            self._local.generation = int(json.loads(row[0])) if row else 0
            self._local.pinned = conn
            yield self._local.generation
        finally:
            self._local.pinned = None
            conn.execute("COMMIT")

    def read_consistent(self, read: Callable[[int], T], attempts: int = READ_ATTEMPTS) -> T:
        """``read(generation)`` inside a :meth:`snapshot`, so what it returns comes from one committed
        generation; retried on the newest generation when a writer moved under it.

        The manifest snapshot makes chunks, texts, lexical index and graph one generation's; dense hits
        of other generations are dropped where hits are made (ids the snapshot lacks are skipped). Two
        races are left, both with the vector store, which has no snapshots: the vectors of generation G
        that the commit of G+1 replaced are deleted after that commit (a reader of G then misses them,
        or an embedded chroma that cached them fails with "Error finding id"), and a collection a
        rebuild replaced is dropped. So a read is retried, with a fresh view of the vectors, when it
        raised a vector-store error or when the committed generation moved before it finished; the
        last attempt's result (always one generation's) or error stands.
        """
        if getattr(self._local, "pinned", None) is not None:  # a caller pinned the generation
            return read(self._local.generation)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            with self.snapshot() as gen:
                self._fresh_vectors(gen)
                try:
                    result = read(gen)
                except Exception as exc:
                    if last or not (ChromaVectorStore.is_vector_race(exc) or self._latest_generation() != gen):
                        raise
                    self._refresh_vectors(gen)
                    continue
            if last or self._latest_generation() == gen:
                return result
        raise AssertionError("unreachable")

    def _latest_generation(self) -> int:
        row = self._main_db().execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(json.loads(row[0])) if row else 0

    def _fresh_vectors(self, gen: int) -> None:
        """An embedded chroma keeps the view of its collection that this process loaded (chroma#3792):
        another process's writes stay invisible to its HNSW index. Reload it when the generation moved
        since it was loaded."""
        if self._vectors_gen != gen:
            self._refresh_vectors(gen)

    def _refresh_vectors(self, gen: int) -> None:
        if self._vectors is not None:
            self._vectors.refresh()
        self._vectors_gen = gen

    # -- meta ---------------------------------------------------------------------------------------

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    @staticmethod
    def set_meta(db: sqlite3.Connection, key: str, value: Any) -> None:
        db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(value, sort_keys=True)))

    def mark_clean(self, db: sqlite3.Connection) -> None:
        """Record, in the transaction ``db``, that the derived stores match this commit: no write is
        left half done, and the vector collection's change token as it stands now (the check before
        the next write skips counting the vectors while the token is unchanged)."""
        self.set_meta(db, "dirty", False)
        self.set_meta(db, "vectors_token", self.vectors.change_token())

    @property
    def generation(self) -> int:
        return int(self.get_meta("generation", 0))

    def check_settings(self, embedder: dict[str, Any], chunker: dict[str, Any]) -> None:
        """Refuse to mix vectors or chunks made with other settings than the store's."""
        for what, current in (("embedder", embedder), ("chunker", chunker)):
            stored = self.get_meta(what)
            if stored is not None and stored != current and self.count_chunks() > 0:
                raise StoreMismatchError(
                    f"{self.path}: the store was indexed with {what} {stored}, the config now says {current}; "
                    "run `ragkit index --rebuild PATH...` to re-index with the new settings"
                )

    # -- reading ------------------------------------------------------------------------------------

    def count_documents(self) -> int:
        """How many documents are committed (O(1): a trigger-kept counter)."""
        return self._count("documents")

    def count_chunks(self) -> int:
        """How many chunks are committed (O(1): a trigger-kept counter)."""
        return self._count("chunks")

    def _count(self, table: str) -> int:
        return int(self.db.execute("SELECT n FROM counts WHERE name=?", (table,)).fetchone()[0])

    def all_chunk_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT chunk_id FROM chunks ORDER BY rowid")]

    def chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """Committed chunks in the order of ``ids``; unknown ids are skipped."""
        found: dict[str, Chunk] = {}
        ids = list(ids)
        for i in range(0, len(ids), 900):
            part = ids[i : i + 900]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(f"{CHUNK_SELECT} WHERE c.chunk_id IN ({marks})", part):
                chunk = row_to_chunk(row)
                found[chunk.chunk_id] = chunk
        return [found[i] for i in ids if i in found]

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        sql = f"{CHUNK_SELECT} WHERE c.doc_id=? ORDER BY c.ordinal"
        return [row_to_chunk(r) for r in self.db.execute(sql, (doc_id,))]

    def iter_chunk_texts(self) -> Iterator[tuple[str, str]]:
        yield from self.db.execute("SELECT chunk_id, text FROM chunks ORDER BY rowid")

    def document_text(self, doc_id: str) -> str:
        row = self.db.execute("SELECT text FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        if row is None:
            raise KeyError(f"no document {doc_id!r} in {self.path}")
        return row[0]

    def document(self, doc_id: str) -> Document:
        row = self.db.execute(
            "SELECT doc_id, source, text, content_hash, format, blocks, metadata, labels FROM documents WHERE doc_id=?",
            (doc_id,),
        ).fetchone()
        if row is None:
            raise KeyError(f"no document {doc_id!r} in {self.path}")
        return Document(
            doc_id=row[0], source=row[1], text=row[2], content_hash=row[3], format=row[4],
            blocks=blocks_from_json(row[5]), metadata=json.loads(row[6]), labels=json.loads(row[7]),
        )

    def documents(self, visible: str | None = None, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """Stored documents in source order: those the access key ``visible`` reads (None: all), at most
        ``limit`` (None: all) from ``offset`` on."""
        cond, params = visible_sql(visible, "labels") if visible is not None else ("1", [])
        sql = ("SELECT doc_id, source, root, format, content_hash, chunks, metadata, labels FROM documents"
               f" WHERE {cond} ORDER BY source, doc_id LIMIT ? OFFSET ?")
        params = [*params, -1 if limit is None else int(limit), int(offset)]
        rows = self.db.execute(sql, params)
        return [
            {"doc_id": r[0], "source": r[1], "root": r[2], "format": r[3], "content_hash": r[4], "chunks": r[5],
             "metadata": json.loads(r[6]), "labels": json.loads(r[7])}
            for r in rows
        ]

    def iter_doc_keys(self, page: int) -> Iterator[list[tuple[str, str | None]]]:
        """Every stored document's (doc_id, root), ``page`` at a time in doc_id order: keyset paging on
        the primary key, so a walk over a big store holds one page, never the whole list."""
        rows = self.db.execute("SELECT doc_id, root FROM documents ORDER BY doc_id LIMIT ?", (page,)).fetchall()
        while rows:
            yield [(r[0], r[1]) for r in rows]
            rows = self.db.execute(
                "SELECT doc_id, root FROM documents WHERE doc_id > ? ORDER BY doc_id LIMIT ?", (rows[-1][0], page)
            ).fetchall()

    def doc_metadata(self, doc_id: str) -> dict[str, Any]:
        """One stored document's metadata ({} when it is not stored)."""
        row = self.db.execute("SELECT metadata FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        return json.loads(row[0]) if row else {}

    def doc_ids_under(self, root: str | Path) -> list[str]:
        """The stored document ids at ``root`` or below it (in storage order): two lookups in the
        primary key's index, so a 1-file ``index`` does not read every document id of a big store."""
        exact = str(root)
        prefix = exact.rstrip(os.sep) + os.sep
        upper = prefix[:-1] + chr(ord(os.sep) + 1)  # the first string after every one starting with prefix
        rows = self.db.execute(
            "SELECT rowid, doc_id FROM documents WHERE doc_id = ? UNION "
            "SELECT rowid, doc_id FROM documents WHERE doc_id >= ? AND doc_id < ? ORDER BY 1",
            (exact, prefix, upper),
        )
        return [doc_id for _, doc_id in rows]

    def doc_given_meta(self, doc_id: str) -> dict[str, Any]:
        """The metadata given to ``index --meta`` for one stored document ({} when none or not stored)."""
        row = self.db.execute("SELECT given_meta FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        return json.loads(row[0]) if row else {}

    def doc_state(self, doc_id: str) -> tuple[str, list[str], list[str]] | None:
        """(content hash, labels, labels given to ``index --label``) of one stored document, or None."""
        row = self.db.execute(
            "SELECT content_hash, labels, given_labels FROM documents WHERE doc_id=?", (doc_id,)
        ).fetchone()
        return None if row is None else (row[0], json.loads(row[1]), json.loads(row[2]))

    def failures(self) -> list[dict[str, str]]:
        return [{"path": r[0], "error": r[1]} for r in self.db.execute("SELECT path, error FROM failures ORDER BY path")]

    def filter_ids(self, scope: Scope) -> set[str]:
        """Chunk ids the scope sees: every filter (source_prefix, doc_id, format, kind, or user metadata)
        holds and the principal may read the document (public or sharing a label)."""
        clauses: list[str] = []
        params: list[str] = []
        if scope.principal is not None:
            sql, args = visible_sql(scope.principal.key())
            clauses.append(sql)
            params += args
        for key, value in scope.filters:
            if key == "source_prefix":
                clauses.append("substr(d.source, 1, ?) = ?")
                params += [len(str(value)), str(value)]
            elif key in ("doc_id", "source"):
                clauses.append(f"d.{key} = ?")
                params.append(str(value))
            elif key == "format":
                clauses.append("d.format = ?")
                params.append(str(value))
            elif key == "kind":
                clauses.append("c.kind = ?")
                params.append(str(value))
            else:
                clauses.append("CAST(json_extract(d.metadata, ?) AS TEXT) = ?")
                params += [f'$."{key}"', str(value)]
        sql = "SELECT c.chunk_id FROM chunks c JOIN documents d USING(doc_id)"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return {r[0] for r in self.db.execute(sql, params)}

    def lexical(self) -> SegmentedIndex | Bm25Index:
        """The lexical index of the committed generation (caught up in memory if the saved one lags).
        Loaded once per generation; segments already open are reused."""
        for _ in range(3):  # a writer may commit and publish between reading the generation and the index
            gen = self.generation
            if self._lexical is not None and self._lexical[0] == gen:
                return self._lexical[1]
            index = generations.load(self.path / LEXICAL, gen, self._open_segments())
            if index is not None or not generations.is_ahead(self.path / LEXICAL, gen):
                break
        if index is None:  # the published index lags the committed generation (a write in progress, a crash)
            index = self._lexical_caught_up(gen)
        self._lexical = (gen, index)
        return index

    def _lexical_caught_up(self, gen: int) -> SegmentedIndex | Bm25Index:
        """For a reader whose generation ``gen`` is not the published one (committed and not published
        yet, or pinned by a snapshot that a newer publish has passed): the published index plus the
        difference read from the reader's manifest snapshot (in memory; O(change) past a read of the
        ids), or a full in-memory build when no published index can be read."""
        base = self.path / LEXICAL
        state = generations.read_state(base)
        published = generations.load(base, int(state["generation"]), self._open_segments()) if state else None
        if published is None:
            return self.build_lexical()
        removed, added = self.lexical_diff(published)
        return generations.overlay(published, gen, removed, added, [c.text for c in self.chunks(added)])

    def _open_segments(self) -> SegmentedIndex | None:
        cached = self._lexical[1] if self._lexical is not None else None
        return cached if isinstance(cached, SegmentedIndex) else None

    def lexical_published(self) -> bool:
        """Whether the saved lexical index is the committed generation's."""
        return generations.is_published(self.path / LEXICAL, self.generation)

    def build_lexical(self) -> Bm25Index:
        """A bm25s index of every committed chunk, built in memory (O(N): the reference and the fallback)."""
        index = Bm25Index()
        index.build(*self._all_chunk_texts())
        return index

    def _all_chunk_texts(self) -> tuple[list[str], list[str]]:
        """(ids, texts) of every committed chunk, in the order of :meth:`iter_chunk_texts`."""
        ids, texts = [], []
        for cid, text in self.iter_chunk_texts():
            ids.append(cid)
            texts.append(text)
        return ids, texts

    # -- embedding cache ----------------------------------------------------------------------------

    def cached_vectors(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        hashes = list(set(hashes))
        for i in range(0, len(hashes), 900):
            part = hashes[i : i + 900]
            marks = ",".join("?" * len(part))
            for h, blob in self.db.execute(f"SELECT text_hash, vector FROM embeddings WHERE text_hash IN ({marks})", part):
                out[h] = np.frombuffer(blob, dtype=np.float32)
        return out

    def cache_vectors(self, items: dict[str, np.ndarray]) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO embeddings(text_hash, vector) VALUES (?, ?)",
                [(h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items.items()],
            )

    # -- writing ------------------------------------------------------------------------------------

    def commit(
        self,
        upserts: list[tuple[Document, str | None, list[Chunk], list[str]]],
        deletes: list[str],
        failures: dict[str, tuple[str | None, str]],
        cleared_failures: list[str],
        settings: dict[str, Any],
        graph: dict[str, Any] | None = None,
        labels: dict[str, tuple[list[str], list[str]]] | None = None,
        given_meta: dict[str, dict[str, Any]] | None = None,
    ) -> int:
        """Swap documents and chunks in one transaction; returns the new generation.

        upserts: (document, root, chunks, text hashes); deletes: doc ids; failures: path -> (root, error);
        labels: doc id -> (labels, labels given at ingest) for upserted or relabelled (unchanged) documents;
        given_meta: doc id -> the metadata given at ingest (kept across content changes until changed).
        """
        now = time.time()
        labels = labels or {}
        with self.transaction() as db:
            stale = self._swap(db, upserts, deletes, graph, now)
            for doc_id, (now_labels, given_labels) in labels.items():  # relabel: no re-chunking, no re-embedding
                db.execute("UPDATE documents SET labels=?, given_labels=? WHERE doc_id=?",
                           (json.dumps(sorted(now_labels)), json.dumps(sorted(given_labels)), doc_id))
                db.execute("UPDATE chunks SET labels=? WHERE doc_id=?", (json.dumps(sorted(now_labels)), doc_id))
            for doc_id, meta in (given_meta or {}).items():
                db.execute("UPDATE documents SET given_meta=? WHERE doc_id=?",
                           (json.dumps(meta, sort_keys=True, default=str), doc_id))
            for path, (root, error) in failures.items():
                db.execute("INSERT OR REPLACE INTO failures VALUES (?,?,?,?)", (path, root, error, now))
            db.executemany("DELETE FROM failures WHERE path=?", [(p,) for p in cleared_failures])
            gen = self._bump(db, settings)
        added = [(c.chunk_id, c.text) for _, _, chunks, _ in upserts for c in chunks]
        self._lexical_delta = (gen - 1, gen, stale, added)
        return gen

    def commit_stream(
        self,
        batches: Iterable[tuple[list[tuple[Document, str | None, list[Chunk], list[str]]], dict[str, Any] | None]],
        settings: dict[str, Any],
    ) -> int:
        """Swap documents and chunks batch by batch (``(upserts, graph)`` pairs, produced lazily) inside
        ONE transaction: a rebuild commits everything atomically without holding it all in memory."""
        now = time.time()
        with self.transaction() as db:
            for upserts, graph in batches:
                self._swap(db, upserts, [], graph, now)
            gen = self._bump(db, settings)
        self._lexical_delta = None  # a rebuild publishes the lexical index in full
        return gen

    def _swap(
        self,
        db: sqlite3.Connection,
        upserts: list[tuple[Document, str | None, list[Chunk], list[str]]],
        deletes: Sequence[str],
        graph: dict[str, Any] | None,
        now: float,
    ) -> set[str]:
        """Replace the chunks of ``upserts``' documents and drop ``deletes``; returns the chunk ids that
        were there before (the lexical delta's removals)."""
        stale: set[str] = set()
        given: dict[str, tuple[str, str]] = {}  # labels and meta once given at ingest, kept across a content change
        for doc_id in [d.doc_id for d, _, _, _ in upserts] + list(deletes):
            row = db.execute("SELECT given_labels, given_meta FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
            if row:
                given[doc_id] = (row[0], row[1])
            stale.update(r[0] for r in db.execute("SELECT chunk_id FROM chunks WHERE doc_id=?", (doc_id,)))
            db.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
            db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
            delete_document_graph(db, doc_id)
        kept: set[str] = set()
        for doc, root, chunks, hashes in upserts:
            db.execute(
                "INSERT INTO documents (doc_id, source, root, format, content_hash, text, blocks, metadata, labels,"
                " chunks, indexed_at, given_labels, given_meta) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (doc.doc_id, doc.source, root, doc.format, doc.content_hash, doc.text, blocks_to_json(doc.blocks),
                 json.dumps(doc.metadata, default=str), json.dumps(doc.labels), len(chunks), now,
                 *given.get(doc.doc_id, ("[]", "{}"))),
            )
            db.executemany(
                "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [chunk_to_row(c, h) for c, h in zip(chunks, hashes)],
            )
            kept.update(c.chunk_id for c in chunks)
            write_document_graph(db, doc.doc_id, (graph or {}).get(doc.doc_id))
        db.executemany("INSERT OR IGNORE INTO pending_deletes VALUES (?)", [(c,) for c in stale - kept])
        db.executemany("DELETE FROM pending_deletes WHERE chunk_id=?", [(c,) for c in kept])
        return stale

    def _bump(self, db: sqlite3.Connection, settings: dict[str, Any]) -> int:
        gen = int(self.get_meta("generation", 0)) + 1
        self.set_meta(db, "generation", gen)
        for key, value in settings.items():
            self.set_meta(db, key, value)
        return gen

    def save_lexical(self, force: bool = False, on_merge: Callable[[], None] | None = None) -> str:
        """Publish the lexical index of the committed generation (unless it already is, or ``force``).

        The publish is incremental (a segment of the added chunks, tombstones for the removed ones, then
        the merges the policy asks for, each announced to ``on_merge``): the change is the one this Store
        object just committed, or else (a commit by another process, a crash before the publish) it is
        read from the manifest by :meth:`lexical_diff`. With ``force``, or no readable published index
        (none yet, an older format), the index is rebuilt from the manifest as one segment. Returns
        which: ``"delta"``, ``"full"``, or ``"current"`` (already published).
        """
        gen = self.generation
        base = self.path / LEXICAL
        delta, self._lexical_delta = self._lexical_delta, None
        state = generations.read_state(base)
        if state is not None and int(state["generation"]) == gen and not force:
            return "current"
        if not force and state is not None:
            current = generations.load(base, int(state["generation"]), self._open_segments())
            if current is not None:
                if delta is not None and delta[:2] == (current.generation, gen):
                    _, _, removed, added = delta
                    ids, texts = [a[0] for a in added], [a[1] for a in added]
                else:  # committed by another Store object, or before a crash: the change, from the manifest
                    removed, ids = self.lexical_diff(current)
                    texts = [c.text for c in self.chunks(ids)]
                self._lexical = (gen, generations.publish_delta(base, gen, current, removed, ids, texts, on_merge))
                return "delta"
        self._lexical = (gen, generations.publish_full(base, gen, *self._all_chunk_texts()))
        return "full"

    def lexical_diff(self, index: SegmentedIndex) -> tuple[list[str], list[str]]:
        """(removed, added): the chunk ids live in a published lexical ``index`` and not committed, and
        the committed ones it lacks. One merge of two sorted streams (the index's live ids, the manifest's
        primary key), so it costs a read of the ids, never their texts, and memory follows the change.
        Exact because a chunk id is a hash of its text: an id in both holds the same text."""
        removed: list[str] = []
        added: list[str] = []
        theirs = index.iter_sorted_ids()
        other = next(theirs, None)
        for (cid,) in self.db.execute("SELECT chunk_id FROM chunks ORDER BY chunk_id"):
            while other is not None and other < cid:
                removed.append(other)
                other = next(theirs, None)
            if other == cid:
                other = next(theirs, None)
            else:
                added.append(cid)
        if other is not None:
            removed.append(other)
            removed.extend(theirs)
        return removed, added

    def chunk_embed_inputs(self, ids: Sequence[str]) -> dict[str, tuple[str, Chunk]]:
        """chunk id -> (embedding-cache key, chunk) for committed chunks."""
        out: dict[str, tuple[str, Chunk]] = {}
        ids = list(ids)
        for i in range(0, len(ids), 900):
            part = ids[i : i + 900]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(f"{CHUNK_SELECT} WHERE c.chunk_id IN ({marks})", part):
                chunk = row_to_chunk(row)
                out[chunk.chunk_id] = (row[16], chunk)
        return out

    def chunk_hashes(self) -> dict[str, str]:
        """Every committed chunk id -> its embedding-cache key."""
        return dict(self.db.execute("SELECT chunk_id, text_hash FROM chunks"))
