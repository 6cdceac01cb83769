"""The commit protocol: what a write does to the store, phase by phase, and what finishes a write that
a crash interrupted. The phases (named as ``on_phase`` reports them; what a crash in each leaves:
:mod:`ragkit.ingest`):

1. ``vectors``: :func:`begin` marks the store dirty, then :func:`upsert_vectors` writes the new
   chunks' vectors (ids the manifest does not commit are invisible to readers).
2. ``manifest``: :func:`commit` (or :func:`commit_stream`, a rebuild's batches) swaps documents and
   chunks in ONE transaction and bumps the generation: the commit point.
3. :func:`publish`: ``delete`` (stale collections and the vectors the swap replaced), ``lexical``
   (:func:`publish_lexical`, an incremental publish of the committed generation), ``merge``; then
   :func:`mark_clean`.
4. :func:`recover`: the repair before a write (or of ``check --repair``) finishes an interrupted one
   from the manifest and the embedding cache: what :mod:`ragkit.integrity` found (a :class:`Recovery`).

The caller holds the store's writer lock (:meth:`ragkit.store.Store.writer`).
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import numpy.typing as npt

from graphs.store import delete_document_graph, write_document_graph
from ragkit.indexes.chroma import ChromaVectorStore
from ragkit.store import generations
from ragkit.store.documents import all_chunk_texts
from ragkit.store.embcache import Vector
from ragkit.store.lexical import LEXICAL, diff, open_segments
from ragkit.store.manifest import blocks_to_json, chunk_to_row
from ragkit.types import Chunk, Document

if TYPE_CHECKING:
    from ragkit.store.catalog import Store

# one document to swap in: (document, root, chunks, embedding-cache key of each chunk)
Upsert: TypeAlias = tuple[Document, str | None, list[Chunk], list[str]]
GraphRows: TypeAlias = dict[str, Any]  # doc id -> its extraction (graphs.store.write_document_graph)
Embed: TypeAlias = Callable[[list[str]], npt.ArrayLike]
RESTORE_PAGE = 5000  # vectors upserted per call by a repair


# -- 1. vectors ------------------------------------------------------------------------------------


def begin(store: Store) -> None:
    """Mark the store dirty before the first derived part changes (cleared by :func:`mark_clean`)."""
    with store.transaction() as db:
        store.set_meta(db, "dirty", True)


def upsert_vectors(store: Store, ids: Sequence[str], matrix: npt.NDArray[np.float32]) -> None:
    """Write the new chunks' vectors; readers do not see them until the manifest commits their ids."""
    store.vectors.upsert(ids, matrix)


# -- 2. manifest -----------------------------------------------------------------------------------


def commit(
    store: Store,
    upserts: list[Upsert],
    deletes: list[str],
    failures: dict[str, tuple[str | None, str]],
    cleared_failures: list[str],
    settings: dict[str, Any],
    graph: GraphRows | None = None,
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
    with store.transaction() as db:
        stale = swap(db, upserts, deletes, graph, now)
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
        gen = bump(store, db, settings)
    added = [(c.chunk_id, c.text) for _, _, chunks, _ in upserts for c in chunks]
    store._lexical_delta = (gen - 1, gen, stale, added)
    return gen


def commit_stream(store: Store, batches: Iterable[tuple[list[Upsert], GraphRows | None]], settings: dict[str, Any]) -> int:
    """Swap documents and chunks batch by batch (``(upserts, graph)`` pairs, produced lazily) inside
    ONE transaction: a rebuild commits everything atomically without holding it all in memory."""
    now = time.time()
    with store.transaction() as db:
        for upserts, graph in batches:
            swap(db, upserts, [], graph, now)
        gen = bump(store, db, settings)
    store._lexical_delta = None  # a rebuild publishes the lexical index in full
    return gen


def swap(
    db: sqlite3.Connection, upserts: list[Upsert], deletes: Sequence[str], graph: GraphRows | None, now: float
) -> set[str]:
    """Replace the chunks of ``upserts``' documents and drop ``deletes``, in the transaction ``db``;
    returns the chunk ids that were there before (the lexical delta's removals)."""
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


def bump(store: Store, db: sqlite3.Connection, settings: dict[str, Any]) -> int:
    """Commit the next generation and the settings it was made with, in the transaction ``db``."""
    gen = int(store.get_meta("generation", 0)) + 1
    store.set_meta(db, "generation", gen)
    for key, value in settings.items():
        store.set_meta(db, key, value)
    return gen


# -- 3. publish ------------------------------------------------------------------------------------


def publish(store: Store, on_phase: Callable[[str], None]) -> None:
    """Finish a commit: drop stale collections of this store, delete stale vectors, publish the
    lexical index of the committed generation, mark the store clean."""
    on_phase("delete")
    vectors = store.vectors
    drop_collections(vectors, [n for n in vectors.collection_names()
                               if n != vectors.collection_name and store.owns_collection(n)])
    pending = [r[0] for r in store.db.execute("SELECT chunk_id FROM pending_deletes")]
    if pending:
        vectors.delete(pending)
        with store.transaction() as db:
            clear_pending(db, pending)
    on_phase("lexical")
    publish_lexical(store, on_merge=lambda: on_phase("merge"))
    with store.transaction() as db:
        mark_clean(store, db)


def drop_collections(vectors: ChromaVectorStore, names: Sequence[str]) -> None:
    """Drop vector collections of this store that the committed one replaced."""
    for name in names:
        vectors.drop_collection(name)


def clear_pending(db: sqlite3.Connection, ids: Sequence[str]) -> None:
    """Forget pending vector deletes once done, in the transaction ``db``."""
    db.executemany("DELETE FROM pending_deletes WHERE chunk_id=?", [(c,) for c in ids])


def publish_lexical(store: Store, force: bool = False, on_merge: Callable[[], None] | None = None) -> str:
    """Publish the lexical index of the committed generation (unless it already is, or ``force``).

    The publish is incremental (a segment of the added chunks, tombstones for the removed ones, then
    the merges the policy asks for, each announced to ``on_merge``): the change is the one this Store
    object just committed, or else (a commit by another process, a crash before the publish) it is
    read from the manifest by :func:`ragkit.store.lexical.diff`. With ``force``, or no readable
    published index (none yet, an older format), the index is rebuilt from the manifest as one
    segment. Returns which: ``"delta"``, ``"full"``, or ``"current"`` (already published).
    """
    gen = store.generation
    base = store.path / LEXICAL
    delta, store._lexical_delta = store._lexical_delta, None
    state = generations.read_state(base)
    if state is not None and int(state["generation"]) == gen and not force:
        return "current"
    if not force and state is not None:
        current = generations.load(base, int(state["generation"]), open_segments(store))
        if current is not None:
            removed: Iterable[str]
            if delta is not None and delta[:2] == (current.generation, gen):
                _, _, removed, added = delta
                ids, texts = [a[0] for a in added], [a[1] for a in added]
            else:  # committed by another Store object, or before a crash: the change, from the manifest
                removed, ids = diff(store, current)
                texts = [c.text for c in store.chunks(ids)]
            store._lexical = (gen, generations.publish_delta(base, gen, current, removed, ids, texts, on_merge))
            return "delta"
    store._lexical = (gen, generations.publish_full(base, gen, *all_chunk_texts(store.db)))
    return "full"


def mark_clean(store: Store, db: sqlite3.Connection) -> None:
    """Record, in the transaction ``db``, that the derived stores match this commit: no write is
    left half done, and the vector collection's change token as it stands now (the check before
    the next write skips counting the vectors while the token is unchanged)."""
    store.set_meta(db, "dirty", False)
    store.set_meta(db, "vectors_token", store.vectors.change_token())


# -- 4. recover ------------------------------------------------------------------------------------


@dataclass
class Recovery:
    """What restores the committed state (found by :mod:`ragkit.integrity`): the ids behind a report."""

    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    stale_collections: list[str] = field(default_factory=list)
    reset_collection: bool = False
    lexical: bool = False
    lexical_behind: bool = False  # only an older generation is published: catch up by the change alone
    graph: bool = False
    pending: list[str] = field(default_factory=list)  # vectors to delete
    pending_rows: list[str] = field(default_factory=list)  # rows of pending_deletes to clear


def recover(store: Store, found: Recovery, embed: Embed, embed_text: Callable[[Chunk], str]) -> list[str]:
    """Restore the committed state from the manifest and the embedding cache (re-embedding with
    ``embed`` only what the cache lacks); returns what was done, one line each."""
    done: list[str] = []
    vectors = store.vectors
    if found.stale_collections:
        drop_collections(vectors, found.stale_collections)
        done.append(f"dropped {len(found.stale_collections)} stale collection(s) of this store")
    if found.reset_collection:
        vectors.reset_collection()
        found.missing = store.all_chunk_ids()
        found.extra, found.wrong = [], []
        done.append("recreated the vector collection (wrong dimension)")
    if found.pending:
        vectors.delete(found.pending)
    if found.extra:
        vectors.delete(found.extra)
        done.append(f"deleted {len(found.extra)} vector(s) not in the manifest")
    restore = sorted(set(found.missing) | set(found.wrong))
    if restore:
        embedded = restore_vectors(store, embed, embed_text, restore)
        done.append(
            f"restored {len(restore)} vector(s) ({len(restore) - embedded} from the embedding cache, {embedded} re-embedded)"
        )
    if found.lexical:
        # only behind: the published older generation plus the change read from the manifest
        how = publish_lexical(store, force=not found.lexical_behind)
        what = "brought the lexical index up to" if how == "delta" else "rebuilt the lexical index of"
        done.append(f"{what} generation {store.generation}")
    with store.transaction() as db:
        if found.pending_rows:
            clear_pending(db, found.pending_rows)
            done.append(f"finished {len(found.pending_rows)} pending vector delete(s)")
        mark_clean(store, db)
    return done


def restore_vectors(store: Store, embed: Embed, embed_text: Callable[[Chunk], str], ids: list[str]) -> int:
    """Upsert the committed vectors of ``ids`` from the cache, embedding (and caching) what it lacks;
    returns how many texts were embedded."""
    inputs = store.chunk_embed_inputs(ids)
    cached = store.cached_vectors(key for key, _ in inputs.values())
    lacking: dict[str, str] = {}
    for key, chunk in inputs.values():
        if key not in cached:
            lacking.setdefault(key, embed_text(chunk))
    if lacking:
        keys = list(lacking)
        fresh: dict[str, Vector] = dict(zip(keys, np.asarray(embed([lacking[k] for k in keys]), dtype=np.float32)))
        store.cache_vectors(fresh)
        cached.update(fresh)
    present = [cid for cid in ids if cid in inputs]
    if present:
        for i in range(0, len(present), RESTORE_PAGE):
            part = present[i : i + RESTORE_PAGE]
            store.vectors.upsert(part, np.stack([cached[inputs[c][0]] for c in part]))
    return len(lacking)
