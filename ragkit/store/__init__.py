"""The store directory as one unit: a SQLite manifest (the source of truth for documents, chunks and
the embedding cache), a chroma vector collection and a bm25s lexical index derived from it.

One module per job: :mod:`~ragkit.store.catalog` (the :class:`Store` object: its parts, identity and
meta), :mod:`~ragkit.store.connections` (the manifest's connections and transactions),
:mod:`~ragkit.store.snapshots` (pinned read snapshots, consistent reads), :mod:`~ragkit.store.documents`
(document and chunk reads), :mod:`~ragkit.store.filters` (a scope as SQL), :mod:`~ragkit.store.embcache`
(the embedding cache), :mod:`~ragkit.store.lexical` (the lexical index a reader uses),
:mod:`~ragkit.store.commit` (the commit protocol: swap, generation bump, publish, recovery),
:mod:`~ragkit.store.manifest` (the schema and row codecs), :mod:`~ragkit.store.generations` (the
lexical index on disk), :mod:`~ragkit.store.lock` (the single-writer lock). The index backends it
derives are :mod:`ragkit.indexes`; finding damage to them is :mod:`ragkit.integrity`'s.
"""
from ragkit.store.catalog import Store, StoreMismatchError
from ragkit.store.lock import StoreLockedError

__all__ = ["Store", "StoreLockedError", "StoreMismatchError"]
