"""Deleting one document through the store's commit protocol (vectors, manifest, lexical index)."""
from __future__ import annotations

from typing import Any


def delete(kit: Any, doc_id: str, wait: float = 0.0) -> dict[str, Any]:
    """Remove ``doc_id`` and its chunks under the store's write lock; KeyError if it is not stored."""
    with kit.store.writer(wait):
        if doc_id not in kit.store.doc_hashes():
            raise KeyError(doc_id)
        from ragkit.ingest import Indexer

        indexer = Indexer(kit.store, kit.embedder, kit.chunker())
        indexer.reconcile()
        indexer.write([], [doc_id], {}, [])
    return {"generation": kit.store.generation}
