"""The vector store: chromadb, embedded and persistent by default, or a chroma server over HTTP."""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragkit.config import VectorStoreConfig
from ragkit.offline import enforce_offline

EXACT_MAX = 50_000  # vectors: a collection up to this size answers a search that HNSW answers short exactly


class ChromaVectorStore:
    """Vectors keyed by chunk id in one chroma collection. We always pass our own vectors: chroma's
    default embedding function would try to download a model."""

    def __init__(self, path: Path, config: VectorStoreConfig | None = None, collection: str = "chunks"):
        self.path = Path(path)
        self.config = config or VectorStoreConfig()
        self.collection_name = collection
        self._client: Any = None
        self._collection: Any = None
        self._lock = threading.Lock()

    @property
    def collection(self) -> Any:
        with self._lock:
            return self._open()

    def _open(self) -> Any:
        if self._collection is None:
            enforce_offline()
            import chromadb
            from chromadb.config import Settings

            settings = Settings(anonymized_telemetry=False, allow_reset=False)
            if self.config.name == "chroma":
                self._client = chromadb.PersistentClient(path=str(self.path), settings=settings)
            elif self.config.name == "chroma-http":
                self._client = chromadb.HttpClient(host=self.config.host, port=self.config.port, settings=settings)
            else:
                raise ValueError(f"unknown vector store {self.config.name!r}; valid: chroma, chroma-http")
            self._collection = self._client.get_or_create_collection(
                self.collection_name,
                embedding_function=None,
                configuration={"hnsw": dict(self.config.hnsw)},
            )
        return self._collection

    def collection_names(self) -> list[str]:
        """Names of every collection in this chroma (the caller decides which are its own)."""
        _ = self.collection
        return [col if isinstance(col, str) else col.name for col in self._client.list_collections()]

    def drop_collection(self, name: str) -> None:
        """Delete the collection ``name`` (never this one: callers pass only stale ones they own)."""
        if name == self.collection_name:
            raise ValueError(f"refusing to drop the current collection {name!r}")
        _ = self.collection
        self._client.delete_collection(name)

    def reset_collection(self) -> None:
        """Drop and recreate this collection empty (repair of a collection with a wrong dimension)."""
        _ = self.collection
        self._client.delete_collection(self.collection_name)
        self._collection = None

    def close(self) -> None:
        self._client, self._collection = None, None

    def refresh(self) -> None:
        """Forget this process's view of the collection; the next use loads it as stored now.

        chromadb keeps one system per persist path and process (``SharedSystemClient``), and the HNSW
        index it loaded never sees what another process writes later: queries miss new vectors or fail
        on deleted ones ("Error finding id"; chroma#3792). A new client on the same path reuses that
        system, so its cache entry for this path is dropped too (clients already open elsewhere in the
        process keep the old one). A chroma server needs none of this: its state is shared.
        """
        with self._lock:
            client, self._client, self._collection = self._client, None, None
            if self.config.name != "chroma":
                return
            from chromadb.api.shared_system_client import SharedSystemClient

            identifier = getattr(client, "_identifier", None) or str(self.path)
            systems = getattr(SharedSystemClient, "_identifier_to_system", None)
            if not isinstance(systems, dict):  # another chromadb layout: the public, process-wide reset
                SharedSystemClient.clear_system_cache()
                return
            with SharedSystemClient._refcount_lock:
                systems.pop(identifier, None)
                SharedSystemClient._identifier_to_refcount.pop(identifier, None)

    @staticmethod
    def is_vector_race(exc: BaseException) -> bool:
        """Whether ``exc`` is what a query meets when another process changed the vectors under it:
        a chroma error (an id or collection gone) or ids missing from a stale view."""
        from chromadb.errors import ChromaError

        return isinstance(exc, (ChromaError, KeyError))

    def _max_batch(self) -> int:
        try:
            return int(self._client.get_max_batch_size())
        except Exception:  # older clients / servers
            return 5000

    def upsert(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        collection = self.collection
        step = self._max_batch()
        for i in range(0, len(ids), step):
            collection.upsert(ids=list(ids[i : i + step]), embeddings=np.asarray(vectors[i : i + step], dtype=np.float32))

    def delete(self, ids: Sequence[str]) -> None:
        collection = self.collection
        step = self._max_batch()
        for i in range(0, len(ids), step):
            collection.delete(ids=list(ids[i : i + step]))

    def ids(self) -> set[str]:
        collection = self.collection
        out: set[str] = set()
        total = collection.count()
        step = 10_000
        for offset in range(0, total, step):
            out.update(collection.get(include=[], limit=step, offset=offset)["ids"])
        return out

    def count(self) -> int:
        """How many vectors the collection holds (chroma counts by scanning: 0.12 s at 1M)."""
        return int(self.collection.count())

    def change_token(self) -> str | None:
        """A value that changes whenever anything writes to this collection, read in O(1); None when
        it cannot be read (a chroma server, another chromadb layout).

        Chroma has no public write counter (a collection's ``version`` and ``log_position`` stay 0 in
        embedded chroma), so this reads its own sqlite read-only: every add, upsert and delete appends
        to ``embeddings_queue`` under a new, ever larger ``seq_id``, and ``max_seq_id`` keeps the
        largest applied one after the queue is purged. The collection's id is part of the token, so a
        deleted and recreated ``vectors/`` folder changes it too.
        """
        if self.config.name != "chroma":
            return None
        collection_id = self.collection.id
        path = (self.path / "chroma.sqlite3").resolve()
        try:
            db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)
            try:
                seqs = [
                    db.execute("SELECT MAX(seq_id) FROM embeddings_queue").fetchone()[0],
                    db.execute("SELECT MAX(seq_id) FROM max_seq_id").fetchone()[0],
                ]
            finally:
                db.close()
        except sqlite3.Error:
            return None
        if not all(seq is None or isinstance(seq, int) for seq in seqs):
            return None
        return f"{collection_id}:{max((seq for seq in seqs if seq is not None), default=0)}"

    def iter_vectors(self, step: int = 5000) -> Iterator[tuple[list[str], np.ndarray]]:
        """Every (ids, vectors) page of the collection."""
        collection = self.collection
        total = collection.count()
        for offset in range(0, total, step):
            got = collection.get(include=["embeddings"], limit=step, offset=offset)
            yield list(got["ids"]), np.asarray(got["embeddings"], dtype=np.float32)

    def get_vectors(self, ids: Sequence[str]) -> np.ndarray:
        """Rows in the order of ``ids`` (KeyError for an unknown id)."""
        if not ids:
            return np.zeros((0, 0), dtype=np.float32)
        got = self.collection.get(ids=list(ids), include=["embeddings"])
        index = {cid: row for row, cid in enumerate(got["ids"])}
        missing = [cid for cid in ids if cid not in index]
        if missing:
            raise KeyError(f"{len(missing)} ids not in the vector store, e.g. {missing[0]}")
        embeddings = np.asarray(got["embeddings"], dtype=np.float32)
        return embeddings[[index[cid] for cid in ids]]

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        return self.query_batch(np.asarray(vector, dtype=np.float32)[None, :], k)[0]

    def query_batch(self, vectors: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        """The top ``k`` (id, 1 - distance) per query vector, best first: chroma's HNSW answer, which is
        approximate, except where it comes back short of ``k``. Then, in a collection of at most
        ``EXACT_MAX`` vectors, the answer is exact (every stored vector scored, ties by id) when ``k``
        covers the whole collection or the HNSW answer holds fewer than min(k, size) ids.

        HNSW is approximate even for k >= size: an embedded chroma below ``sync_threshold`` vectors
        (1000) keeps no saved index and rebuilds it from its write log in every process that opens
        it, inserting in parallel in hash-map order, and such a graph can leave a vector unreachable,
        missing from every query's answer (3 of 250 opens of a repaired 48-vector store on a loaded
        2-core machine; tests/test_integrity.py). So a ranking of the whole collection is exact and
        the same in every process; a top k < size is HNSW's, which may differ between opens.
        """
        if len(vectors) == 0:
            return []
        vectors = np.asarray(vectors, dtype=np.float32)
        # no count() per query (13 of 15 ms at 100k vectors): chroma returns all when k exceeds it
        res = self.collection.query(query_embeddings=vectors, n_results=k, include=["distances"])
        # cosine space: distance = 1 - cosine similarity
        found = [
            [(cid, 1.0 - float(dist)) for cid, dist in zip(ids, dists)]
            for ids, dists in zip(res["ids"], res["distances"])
        ]
        if all(len(ranked) >= k for ranked in found):
            return found
        try:
            size = self.count()  # only when an answer is short of k: k covers the whole collection, or a miss
            if size > EXACT_MAX:
                return found
            return self._exact(vectors, min(k, size))
        except Exception as exc:  # a view older than another process's writes cannot read its vectors:
            if not self.is_vector_race(exc):  # the approximate answer stands (Store.read_consistent
                raise  # refreshes such a view and reads again)
            return found

    def _exact(self, vectors: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        """The exact top ``k`` of every stored vector per query, as (id, 1 - chroma's distance) in
        float64, best first, ties by id (the same ranking in every process for the same vectors)."""
        ids: list[str] = []
        pages: list[np.ndarray] = []
        for page_ids, matrix in self.iter_vectors():
            ids.extend(page_ids)
            pages.append(matrix)
        if not ids or k <= 0:
            return [[] for _ in range(len(vectors))]
        matrix = np.concatenate(pages).astype(np.float64)
        queries = np.asarray(vectors, dtype=np.float64)
        space = self._space()
        if space == "cosine":  # chroma normalizes both sides: distance = 1 - cosine
            matrix = matrix / _norms(matrix)
            queries = queries / _norms(queries)
            scores = queries @ matrix.T
        elif space == "ip":  # distance = 1 - inner product
            scores = queries @ matrix.T
        else:  # l2: distance = squared euclidean
            scores = 1.0 - ((queries**2).sum(1)[:, None] - 2.0 * queries @ matrix.T + (matrix**2).sum(1)[None, :])
        order = np.argsort(np.array(ids, dtype=object), kind="stable")  # ties by id
        out = []
        for row in scores:
            ranked = order[np.argsort(-row[order], kind="stable")][:k]
            out.append([(ids[i], float(row[i])) for i in ranked])
        return out

    def _space(self) -> str:
        """The collection's distance (as created; the config's where chroma does not say)."""
        try:
            hnsw = (self.collection.configuration_json or {}).get("hnsw") or {}
        except Exception:  # another chromadb layout
            hnsw = {}
        return str(hnsw.get("space") or self.config.hnsw.get("space", "l2"))


def _norms(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.where(norms > 0, norms, 1.0)
