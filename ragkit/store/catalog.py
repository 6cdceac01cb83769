"""The :class:`Store` object: one store directory, its parts opened on first use (the manifest's
connections, the vector collection, the lexical index), its identity and meta, and every read and
write of it, each kept in the module of its job:

- :mod:`~ragkit.store.connections` and :mod:`~ragkit.store.snapshots`: the manifest's connections,
  pinned read snapshots and consistent reads;
- :mod:`~ragkit.store.documents`, :mod:`~ragkit.store.filters`, :mod:`~ragkit.store.embcache`,
  :mod:`~ragkit.store.lexical`: what readers ask of the manifest and the lexical index;
- :mod:`~ragkit.store.commit`: the commit protocol (swap, generation bump, publish, recovery).

Finding damage to the derived parts is :mod:`ragkit.integrity`'s; the write's orchestration (chunk,
embed) is :mod:`ragkit.ingest`'s.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ragkit.access import Scope
from ragkit.config import Config
from ragkit.indexes.bm25 import Bm25Index
from ragkit.indexes.chroma import ChromaVectorStore
from ragkit.indexes.segments import SegmentedIndex
from ragkit.store import commit as protocol
from ragkit.store import documents, embcache, filters, lexical, snapshots
from ragkit.store.commit import GraphRows, Upsert
from ragkit.store.connections import MANIFEST, open_manifest, transaction
from ragkit.store.lexical import LEXICAL, Lexical
from ragkit.store.lock import writer_lock
from ragkit.store.snapshots import READ_ATTEMPTS, Snapshots
from ragkit.types import Chunk, Document

__all__ = ["LEGACY_COLLECTION", "LEXICAL", "LOCK", "MANIFEST", "VECTORS", "Store", "StoreMismatchError"]

VECTORS = "vectors"
LOCK = "write.lock"
LEGACY_COLLECTION = "chunks"  # stores made before collection names carried the store id
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
        self._lexical: tuple[int, Lexical] | None = None
        self._lexical_lock = threading.RLock()  # one reader thread loads a generation's index; the rest reuse it
        # what the last commit changed, for an O(changed) lexical publish: (base gen, gen, removed ids, added)
        self._lexical_delta: tuple[int, int, set[str], list[tuple[str, str]]] | None = None
        self._snapshots = Snapshots(self.path)  # per thread: its read connection and the snapshot it pins

    # -- parts --------------------------------------------------------------------------------------

    @property
    def db(self) -> sqlite3.Connection:
        """The manifest connection; inside :meth:`snapshot`, this thread's pinned read snapshot."""
        pinned = self._snapshots.pinned
        return pinned if pinned is not None else self._main_db()

    def _main_db(self) -> sqlite3.Connection:
        if self._db is None:
            db = open_manifest(self.path)
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
        self._snapshots.close()
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._vectors is not None:
            self._vectors.close()
        self._vectors = None
        self._lexical = None

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction on the manifest (BEGIN IMMEDIATE), rolled back on error."""
        return transaction(self._main_db())

    def writer(self, wait: float = 0.0) -> AbstractContextManager[None]:
        """Hold the store's single-writer lock (see :func:`ragkit.store.lock.writer_lock`)."""
        return writer_lock(self.path / LOCK, wait)

    # -- consistent reads ---------------------------------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[int]:
        """Pin one committed generation for this thread and yield it.

        Inside, every manifest read of this thread (``db``, so chunks, filters, the lexical index's
        generation, graph rows) goes through one SQLite read transaction on a connection of its own:
        WAL mode serves it the state of one commit, whatever writers commit meanwhile. Re-entrant: an
        inner snapshot stays on the outer one's generation. Writes (``transaction``) never use it.
        """
        with self._snapshots.pin(self._main_db) as gen:  # schema and identity exist before a reader looks
            yield gen

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
        return snapshots.read_consistent(self, read, attempts)

    # -- meta ---------------------------------------------------------------------------------------

    def get_meta(self, key: str, default: Any = None) -> Any:
        """The JSON value of meta ``key`` (``default`` when unset)."""
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    @staticmethod
    def set_meta(db: sqlite3.Connection, key: str, value: Any) -> None:
        db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(value, sort_keys=True)))

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

    # -- reading (ragkit.store.documents, .filters, .lexical) ---------------------------------------

    def count_documents(self) -> int:
        """How many documents are committed (O(1): a trigger-kept counter)."""
        return documents.count(self.db, "documents")

    def count_chunks(self) -> int:
        """How many chunks are committed (O(1): a trigger-kept counter)."""
        return documents.count(self.db, "chunks")

    def all_chunk_ids(self) -> list[str]:
        return documents.all_chunk_ids(self.db)

    def chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """Committed chunks in the order of ``ids``; unknown ids are skipped."""
        return documents.chunks(self.db, ids)

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        return documents.doc_chunks(self.db, doc_id)

    def iter_chunk_texts(self) -> Iterator[tuple[str, str]]:
        yield from documents.iter_chunk_texts(self.db)

    def document_text(self, doc_id: str) -> str:
        return documents.document_text(self.db, self.path, doc_id)

    def document(self, doc_id: str) -> Document:
        return documents.document(self.db, self.path, doc_id)

    def documents(self, visible: str | None = None, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """Stored documents in source order: those the access key ``visible`` reads (None: all), at most
        ``limit`` (None: all) from ``offset`` on."""
        return documents.documents(self.db, visible, limit, offset)

    def iter_doc_keys(self, page: int) -> Iterator[list[tuple[str, str | None]]]:
        """Every stored document's (doc_id, root), ``page`` at a time in doc_id order (keyset paging)."""
        yield from documents.iter_doc_keys(lambda: self.db, page)

    def doc_metadata(self, doc_id: str) -> dict[str, Any]:
        """One stored document's metadata ({} when it is not stored)."""
        return documents.doc_metadata(self.db, doc_id)

    def doc_ids_under(self, root: str | Path) -> list[str]:
        """The stored document ids at ``root`` or below it (in storage order)."""
        return documents.doc_ids_under(self.db, root)

    def doc_given_meta(self, doc_id: str) -> dict[str, Any]:
        """The metadata given to ``index --meta`` for one stored document ({} when none or not stored)."""
        return documents.doc_given_meta(self.db, doc_id)

    def doc_state(self, doc_id: str) -> tuple[str, list[str], list[str]] | None:
        """(content hash, labels, labels given to ``index --label``) of one stored document, or None."""
        return documents.doc_state(self.db, doc_id)

    def failures(self) -> list[dict[str, str]]:
        return documents.failures(self.db)

    def filter_ids(self, scope: Scope) -> set[str]:
        """Chunk ids the scope sees: every filter (source_prefix, doc_id, format, kind, or user metadata)
        holds and the principal may read the document (public or sharing a label)."""
        return filters.filter_ids(self.db, scope)

    def lexical(self) -> SegmentedIndex | Bm25Index:
        """The lexical index of the committed generation (caught up in memory if the saved one lags)."""
        return lexical.lexical(self)

    def lexical_published(self) -> bool:
        """Whether the saved lexical index is the committed generation's."""
        return lexical.is_published(self)

    def build_lexical(self) -> Bm25Index:
        """A bm25s index of every committed chunk, built in memory (O(N): the reference and the fallback)."""
        return lexical.build(self)

    def lexical_diff(self, index: SegmentedIndex) -> tuple[list[str], list[str]]:
        """(removed, added) chunk ids of a published lexical ``index`` against the manifest."""
        return lexical.diff(self, index)

    # -- embedding cache (ragkit.store.embcache) ----------------------------------------------------

    def cached_vectors(self, hashes: Iterable[str]) -> dict[str, embcache.Vector]:
        return embcache.cached_vectors(self.db, hashes)

    def cache_vectors(self, items: dict[str, embcache.Vector]) -> None:
        with self.transaction() as db:
            embcache.cache_vectors(db, items)

    def chunk_embed_inputs(self, ids: Sequence[str]) -> dict[str, tuple[str, Chunk]]:
        """chunk id -> (embedding-cache key, chunk) for committed chunks."""
        return embcache.chunk_embed_inputs(self.db, ids)

    def chunk_hashes(self) -> dict[str, str]:
        """Every committed chunk id -> its embedding-cache key."""
        return embcache.chunk_hashes(self.db)

    # -- writing (the commit protocol: ragkit.store.commit) -----------------------------------------

    def commit_stream(self, batches: Iterable[tuple[list[Upsert], GraphRows | None]], settings: dict[str, Any]) -> int:
        """Swap a rebuild's batches inside ONE transaction (:func:`ragkit.store.commit.commit_stream`)."""
        return protocol.commit_stream(self, batches, settings)

    def save_lexical(self, force: bool = False, on_merge: Callable[[], None] | None = None) -> str:
        """Publish the lexical index of the committed generation: ``"delta"``, ``"full"`` or ``"current"``
        (:func:`ragkit.store.commit.publish_lexical`)."""
        return protocol.publish_lexical(self, force, on_merge)
