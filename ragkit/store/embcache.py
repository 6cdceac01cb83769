"""The embedding cache in the manifest: vectors keyed by the hash of the text embedded (salted with
the embedder's settings), and each committed chunk's key into it."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from ragkit.store.documents import PAGE, chunk_rows
from ragkit.types import Chunk

Vector: TypeAlias = npt.NDArray[np.float32]  # one dimension


def cached_vectors(db: sqlite3.Connection, hashes: Iterable[str]) -> dict[str, Vector]:
    """Cache key -> vector for the keys the cache holds."""
    out: dict[str, Vector] = {}
    keys = list(set(hashes))
    for i in range(0, len(keys), PAGE):
        part = keys[i : i + PAGE]
        marks = ",".join("?" * len(part))
        for h, blob in db.execute(f"SELECT text_hash, vector FROM embeddings WHERE text_hash IN ({marks})", part):
            out[h] = np.frombuffer(blob, dtype=np.float32)
    return out


def cache_vectors(tx: sqlite3.Connection, items: dict[str, Vector]) -> None:
    """Store ``items`` (cache key -> vector) as float32, in the caller's transaction ``tx``."""
    tx.executemany(
        "INSERT OR REPLACE INTO embeddings(text_hash, vector) VALUES (?, ?)",
        [(h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items.items()],
    )


def chunk_embed_inputs(db: sqlite3.Connection, ids: Sequence[str]) -> dict[str, tuple[str, Chunk]]:
    """chunk id -> (embedding-cache key, chunk) for committed chunks."""
    return {chunk.chunk_id: (row[16], chunk) for row, chunk in chunk_rows(db, ids)}


def chunk_hashes(db: sqlite3.Connection) -> dict[str, str]:
    """Every committed chunk id -> its embedding-cache key."""
    return dict(db.execute("SELECT chunk_id, text_hash FROM chunks"))
