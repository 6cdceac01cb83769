"""The store directory as one unit: a SQLite manifest (the source of truth for documents, chunks and
the embedding cache), a chroma vector store and a bm25s lexical index derived from it.

Commit protocol of a write (see ``ragkit.ingest``): vectors are upserted into chroma first (ids not
yet in the manifest are invisible to readers), then one SQLite transaction swaps the documents and
chunks and bumps the generation, then stale vectors are deleted and the lexical index for the new
generation is written beside the old one and published by an atomic rename. A crash at any point
leaves the last committed generation readable; ``reconcile`` repairs the derived stores.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from graphs.store import GRAPH_SCHEMA, delete_document_graph, write_document_graph
from ragkit.config import Config
from ragkit.stores.bm25 import Bm25Index
from ragkit.stores.chroma import ChromaVectorStore
from ragkit.types import Block, Chunk, Document, Table

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, root TEXT, format TEXT, content_hash TEXT NOT NULL,
    text TEXT NOT NULL, blocks TEXT NOT NULL, metadata TEXT NOT NULL, labels TEXT NOT NULL,
    chunks INTEGER NOT NULL, indexed_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS documents_root ON documents(root);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, ordinal INTEGER NOT NULL, text TEXT NOT NULL,
    text_hash TEXT NOT NULL, kind TEXT NOT NULL, page INTEGER, heading_path TEXT NOT NULL,
    span_start INTEGER NOT NULL, span_end INTEGER NOT NULL, bbox TEXT, table_id TEXT,
    row_start INTEGER, row_end INTEGER, image_path TEXT, metadata TEXT NOT NULL, labels TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS embeddings (text_hash TEXT PRIMARY KEY, vector BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS failures (path TEXT PRIMARY KEY, root TEXT, error TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS pending_deletes (chunk_id TEXT PRIMARY KEY);
"""

MANIFEST = "manifest.sqlite"
VECTORS = "vectors"
LEXICAL = "lexical"
LOCK = "write.lock"

CHUNK_COLUMNS = ", ".join(
    f"c.{name}"
    for name in (
        "chunk_id doc_id ordinal text kind page heading_path span_start span_end bbox table_id "
        "row_start row_end image_path metadata labels text_hash"
    ).split()
)


class StoreLockedError(RuntimeError):
    """Another process is writing to the store."""


class StoreMismatchError(RuntimeError):
    """The store was built with another embedder or chunker than the current config."""


class Store:
    """One store directory. Cheap to construct; opens its parts on first use."""

    def __init__(self, path: str | Path, config: Config | None = None):
        self.path = Path(path)
        self.config = config or Config.load(self.path)
        self._db: sqlite3.Connection | None = None
        self._vectors: ChromaVectorStore | None = None
        self._lexical: tuple[int, Bm25Index] | None = None

    # -- parts --------------------------------------------------------------------------------------

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path / MANIFEST, timeout=60, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            db.executescript(GRAPH_SCHEMA)
            self._db = db
        return self._db

    @property
    def vectors(self) -> ChromaVectorStore:
        """The committed vector collection (a rebuild writes a new one and commits its name)."""
        name = self.get_meta("collection", "chunks")
        if self._vectors is None or self._vectors.collection_name != name:
            self._vectors = self.vector_collection(name)
        return self._vectors

    def vector_collection(self, name: str) -> ChromaVectorStore:
        return ChromaVectorStore(self.path / VECTORS, self.config.vector_store, collection=name)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self._vectors = None
        self._lexical = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextmanager
    def writer(self, wait: float = 0.0) -> Iterator[None]:
        """Hold the store's single-writer lock; wait up to ``wait`` seconds, then fail clearly."""
        self.path.mkdir(parents=True, exist_ok=True)
        fh = open(self.path / LOCK, "a+")
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    holder = fh.read().strip() or "another process"
                    fh.close()
                    raise StoreLockedError(
                        f"{self.path}: another ragkit process ({holder}) is writing to this store; "
                        "wait for it to finish or pass --wait SECONDS"
                    ) from None
                time.sleep(0.2)
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}")
            fh.flush()
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()

    # -- meta ---------------------------------------------------------------------------------------

    def get_meta(self, key: str, default: Any = None) -> Any:
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

    # -- reading ------------------------------------------------------------------------------------

    def count_chunks(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def all_chunk_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT chunk_id FROM chunks ORDER BY rowid")]

    def chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """Committed chunks in the order of ``ids``; unknown ids are skipped."""
        found: dict[str, Chunk] = {}
        ids = list(ids)
        for i in range(0, len(ids), 900):
            part = ids[i : i + 900]
            marks = ",".join("?" * len(part))
            sql = f"SELECT {CHUNK_COLUMNS}, d.source, d.content_hash FROM chunks c JOIN documents d USING(doc_id) WHERE c.chunk_id IN ({marks})"
            for row in self.db.execute(sql, part):
                chunk = _row_to_chunk(row)
                found[chunk.chunk_id] = chunk
        return [found[i] for i in ids if i in found]

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        sql = f"SELECT {CHUNK_COLUMNS}, d.source, d.content_hash FROM chunks c JOIN documents d USING(doc_id) WHERE c.doc_id=? ORDER BY c.ordinal"
        return [_row_to_chunk(r) for r in self.db.execute(sql, (doc_id,))]

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
            blocks=_blocks_from_json(row[5]), metadata=json.loads(row[6]), labels=json.loads(row[7]),
        )

    def documents(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT doc_id, source, root, format, content_hash, chunks, metadata FROM documents ORDER BY source"
        )
        return [
            {"doc_id": r[0], "source": r[1], "root": r[2], "format": r[3], "content_hash": r[4], "chunks": r[5],
             "metadata": json.loads(r[6])}
            for r in rows
        ]

    def doc_hashes(self) -> dict[str, tuple[str, str | None]]:
        """doc_id -> (content hash, root)."""
        return {r[0]: (r[1], r[2]) for r in self.db.execute("SELECT doc_id, content_hash, root FROM documents")}

    def failures(self) -> list[dict[str, str]]:
        return [{"path": r[0], "error": r[1]} for r in self.db.execute("SELECT path, error FROM failures ORDER BY path")]

    def filter_ids(self, where: dict[str, Any]) -> set[str]:
        """Chunk ids matching every condition: source_prefix, doc_id, format, kind, or user metadata."""
        clauses, params = [], []
        for key, value in where.items():
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

    def lexical(self) -> Bm25Index:
        """The lexical index of the committed generation (rebuilt in memory if the saved one lags)."""
        gen = self.generation
        if self._lexical is not None and self._lexical[0] == gen:
            return self._lexical[1]
        index = None
        current = self.path / LEXICAL / "CURRENT"
        if current.exists():
            name = current.read_text().strip()
            if name == f"gen-{gen}" and (self.path / LEXICAL / name).exists():
                index = Bm25Index.load(self.path / LEXICAL / name)
        if index is None:
            index = self.build_lexical()
        self._lexical = (gen, index)
        return index

    def build_lexical(self) -> Bm25Index:
        ids, texts = [], []
        for cid, text in self.iter_chunk_texts():
            ids.append(cid)
            texts.append(text)
        index = Bm25Index()
        index.build(ids, texts)
        return index

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
    ) -> int:
        """Swap documents and chunks in one transaction; returns the new generation.

        upserts: (document, root, chunks, text hashes); deletes: doc ids; failures: path -> (root, error).
        """
        now = time.time()
        with self.transaction() as db:
            stale: set[str] = set()
            for doc_id in [d.doc_id for d, _, _, _ in upserts] + list(deletes):
                stale.update(r[0] for r in db.execute("SELECT chunk_id FROM chunks WHERE doc_id=?", (doc_id,)))
                db.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
                db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
                delete_document_graph(db, doc_id)
            kept: set[str] = set()
            for doc, root, chunks, hashes in upserts:
                db.execute(
                    "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (doc.doc_id, doc.source, root, doc.format, doc.content_hash, doc.text, _blocks_to_json(doc.blocks),
                     json.dumps(doc.metadata, default=str), json.dumps(doc.labels), len(chunks), now),
                )
                db.executemany(
                    "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [_chunk_to_row(c, h) for c, h in zip(chunks, hashes)],
                )
                kept.update(c.chunk_id for c in chunks)
                write_document_graph(db, doc.doc_id, (graph or {}).get(doc.doc_id))
            db.executemany("INSERT OR IGNORE INTO pending_deletes VALUES (?)", [(c,) for c in stale - kept])
            for path, (root, error) in failures.items():
                db.execute("INSERT OR REPLACE INTO failures VALUES (?,?,?,?)", (path, root, error, now))
            db.executemany("DELETE FROM failures WHERE path=?", [(p,) for p in cleared_failures])
            gen = int(self.get_meta("generation", 0)) + 1
            self.set_meta(db, "generation", gen)
            for key, value in settings.items():
                self.set_meta(db, key, value)
        return gen

    def save_lexical(self) -> None:
        gen = self.generation
        base = self.path / LEXICAL
        name = f"gen-{gen}"
        current = base / "CURRENT"
        if current.exists() and current.read_text().strip() == name and (base / name).exists():
            return
        target = base / name
        tmp = base / f".tmp-{name}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        index = self.build_lexical()
        index.save(tmp)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
        pointer = base / ".CURRENT.tmp"
        pointer.write_text(name)
        os.replace(pointer, current)
        for old in base.iterdir():
            if old.name not in (name, "CURRENT") and not old.name.startswith(".tmp-"):
                shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
        self._lexical = (gen, index)

    def missing_vector_ids(self) -> tuple[list[str], list[str]]:
        """(committed chunk ids without a vector, vector ids not committed)."""
        committed = set(self.all_chunk_ids())
        present = self.vectors.ids()
        return sorted(committed - present), sorted(present - committed)

    def chunk_text_hashes(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        out = {}
        for i in range(0, len(ids), 900):
            part = list(ids[i : i + 900])
            marks = ",".join("?" * len(part))
            for cid, h, text in self.db.execute(f"SELECT chunk_id, text_hash, text FROM chunks WHERE c.chunk_id IN ({marks})", part):
                out[cid] = (h, text)
        return out


def _chunk_to_row(c: Chunk, text_hash: str) -> tuple[Any, ...]:
    return (
        c.chunk_id, c.doc_id, c.ordinal, c.text, text_hash, c.kind, c.page, json.dumps(c.heading_path),
        c.span[0], c.span[1], json.dumps(c.bbox) if c.bbox else None, c.table_id,
        c.row_range[0] if c.row_range else None, c.row_range[1] if c.row_range else None, c.image_path,
        json.dumps(c.metadata, default=str), json.dumps(c.labels),
    )


def _row_to_chunk(r: Sequence[Any]) -> Chunk:
    (chunk_id, doc_id, ordinal, text, kind, page, heading_path, s, e, bbox, table_id, r0, r1, image_path,
     metadata, labels, _text_hash, source, content_hash) = r
    return Chunk(
        chunk_id=chunk_id, doc_id=doc_id, source=source, text=text, ordinal=ordinal, span=(s, e), kind=kind,
        page=page, heading_path=json.loads(heading_path), bbox=tuple(json.loads(bbox)) if bbox else None,
        table_id=table_id, row_range=(r0, r1) if r0 is not None else None, image_path=image_path,
        content_hash=content_hash, metadata=json.loads(metadata), labels=json.loads(labels),
    )


def _blocks_to_json(blocks: Sequence[Block]) -> str:
    out = []
    for b in blocks:
        item = {"kind": b.kind, "start": b.start, "end": b.end, "page": b.page, "heading_path": b.heading_path,
                "bbox": b.bbox, "image_path": b.image_path}
        if b.table is not None:
            item["table"] = b.table.to_dict()
        out.append(item)
    return json.dumps(out)


def _blocks_from_json(data: str) -> list[Block]:
    blocks = []
    for item in json.loads(data):
        table = item.pop("table", None)
        if item.get("bbox"):
            item["bbox"] = tuple(item["bbox"])
        block = Block(**item)
        if table:
            if table.get("bbox"):
                table["bbox"] = tuple(table["bbox"])
            block.table = Table(**table)
        blocks.append(block)
    return blocks
