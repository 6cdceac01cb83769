"""The store directory as one unit: a SQLite manifest (the source of truth for documents, chunks and
the embedding cache), a chroma vector collection and a bm25s lexical index derived from it.

The module map: :mod:`~ragkit.store.catalog` (the :class:`Store` object), :mod:`~ragkit.store.manifest`
(the schema and row codecs), :mod:`~ragkit.store.generations` (the lexical index on disk),
:mod:`~ragkit.store.lock` (the single-writer lock).
"""
from ragkit.store.catalog import Store, StoreMismatchError
from ragkit.store.lock import StoreLockedError

__all__ = ["Store", "StoreLockedError", "StoreMismatchError"]
