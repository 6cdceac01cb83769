"""The lexical index a reader of the store uses: the published generation's segments (loaded once per
generation, open segments reused), caught up in memory when the reader's generation is not the
published one, or a full in-memory build. Publishing is the commit protocol's
(:func:`ragkit.store.commit.publish_lexical`)."""
from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from ragkit.indexes.bm25 import Bm25Index
from ragkit.indexes.segments import SegmentedIndex
from ragkit.store import generations
from ragkit.store.documents import all_chunk_texts

if TYPE_CHECKING:
    from ragkit.store.catalog import Store

LEXICAL = "lexical"  # the folder of the published index in the store
Lexical: TypeAlias = SegmentedIndex | Bm25Index


def lexical(store: Store) -> Lexical:
    """The lexical index of the committed generation (caught up in memory if the saved one lags).
    Loaded once per generation; segments already open are reused."""
    cached = store._lexical
    if cached is not None and cached[0] == store.generation:
        return cached[1]
    # Threads that query a fresh store together wait here while one of them loads the index: the load is
    # done once, not once per thread, and numpy's header parsing (ast.literal_eval) never runs in several
    # threads at once (CPython 3.11 raises "AST constructor recursion depth mismatch" when it does).
    with store._lexical_lock:
        base = store.path / LEXICAL
        for _ in range(3):  # a writer may commit and publish between reading the generation and the index
            gen = store.generation
            if store._lexical is not None and store._lexical[0] == gen:
                return store._lexical[1]
            published = generations.load(base, gen, open_segments(store))
            if published is not None or not generations.is_ahead(base, gen):
                break
        # None: the published index lags the committed generation (a write in progress, a crash)
        index: Lexical = published if published is not None else caught_up(store, gen)
        store._lexical = (gen, index)
        return index


def caught_up(store: Store, gen: int) -> Lexical:
    """For a reader whose generation ``gen`` is not the published one (committed and not published
    yet, or pinned by a snapshot that a newer publish has passed): the published index plus the
    difference read from the reader's manifest snapshot (in memory; O(change) past a read of the
    ids), or a full in-memory build when no published index can be read."""
    base = store.path / LEXICAL
    state = generations.read_state(base)
    published = generations.load(base, int(state["generation"]), open_segments(store)) if state else None
    if published is None:
        return build(store)
    removed, added = diff(store, published)
    return generations.overlay(published, gen, removed, added, [c.text for c in store.chunks(added)])


def open_segments(store: Store) -> SegmentedIndex | None:
    """The segmented index this store object last loaded (its open segments are reused), if any."""
    cached = store._lexical[1] if store._lexical is not None else None
    return cached if isinstance(cached, SegmentedIndex) else None


def is_published(store: Store) -> bool:
    """Whether the saved lexical index is the committed generation's."""
    return generations.is_published(store.path / LEXICAL, store.generation)


def build(store: Store) -> Bm25Index:
    """A bm25s index of every committed chunk, built in memory (O(N): the reference and the fallback)."""
    index = Bm25Index()
    index.build(*all_chunk_texts(store.db))
    return index


def diff(store: Store, index: SegmentedIndex) -> tuple[list[str], list[str]]:
    """(removed, added): the chunk ids live in a published lexical ``index`` and not committed, and
    the committed ones it lacks. One merge of two sorted streams (the index's live ids, the manifest's
    primary key), so it costs a read of the ids, never their texts, and memory follows the change.
    Exact because a chunk id is a hash of its text: an id in both holds the same text."""
    removed: list[str] = []
    added: list[str] = []
    theirs = index.iter_sorted_ids()
    other = next(theirs, None)
    for (cid,) in store.db.execute("SELECT chunk_id FROM chunks ORDER BY chunk_id"):
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
