"""Find and repair damage to a store's derived parts (vectors, lexical index) against the manifest.

The manifest is the source of truth. ``check`` compares everything derived from it and reports each
kind of problem with counts; ``repair`` restores the exact committed state from the manifest and the
embedding cache, re-embedding only what the cache lacks. ``cheap=True`` skips the two costly
comparisons (every vector against the cache, lexical scores against a fresh index) and, when no write
was interrupted (no ``dirty`` flag, no pending deletes), the vector collection's change token is the
one the last clean commit recorded (else: the counts of chunks and vectors agree) and the lexical
index holds as many rows as the manifest, the O(N) listing of ids too: that part runs at the start of
every ``index`` in O(1). The graph's rows are checked against the committed chunks too; their
repair (a rebuild from the committed documents) is the Kit's, which holds the graph settings.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ragkit.store import Store, generations
from ragkit.store.commit import Recovery, recover
from ragkit.types import Chunk

VECTOR_TOLERANCE = 1e-4  # max abs difference between a stored vector and its cached one
SCORE_TOLERANCE = 1e-4
LEXICAL_SAMPLE = 20  # queries compared against a freshly built lexical index


@dataclass
class Problem:
    """One kind of damage: where (part), what (kind), how many, and a few example ids."""

    part: str
    kind: str
    count: int
    detail: str
    examples: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    """What ``check`` found (and, after ``repair``, what was done)."""

    problems: list[Problem] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    repaired: list[str] = field(default_factory=list)
    remaining: list[Problem] = field(default_factory=list)  # after a repair: what a new check still finds
    seconds: float = 0.0
    deep: bool = True

    @property
    def ok(self) -> bool:
        return not self.problems

    def needs_graph_rebuild(self) -> bool:
        return "graph_rows" in self.kinds()

    def kinds(self) -> set[str]:
        return {p.kind for p in self.problems}

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **asdict(self)}


def check(store: Store, cheap: bool = False) -> CheckReport:
    """Compare the vectors and the lexical index with the manifest (read only)."""
    report, _ = _inspect(store, cheap)
    return report


def repair(
    store: Store, embedder: Any, embed_text: Callable[[Chunk], str], cheap: bool = False
) -> CheckReport:
    """Check, then restore the committed state (:func:`ragkit.store.commit.recover`);
    ``report.repaired`` says what was done. Run it under the store's writer lock."""
    report, found = _inspect(store, cheap)
    report.repaired.extend(recover(store, found, embedder.embed, embed_text))
    return report


def _inspect(store: Store, cheap: bool) -> tuple[CheckReport, Recovery]:
    started = time.perf_counter()
    report = CheckReport(deep=not cheap)
    found = Recovery()
    report.checked["generation"] = store.generation

    def add(part: str, kind: str, ids: list[str] | int, detail: str) -> None:
        count = ids if isinstance(ids, int) else len(ids)
        examples = [] if isinstance(ids, int) else sorted(ids)[:5]
        report.problems.append(Problem(part, kind, count, detail, examples))

    found.pending_rows = [r[0] for r in store.db.execute("SELECT chunk_id FROM pending_deletes")]
    vectors = store.vectors
    current = vectors.collection_name
    found.stale_collections = [n for n in vectors.collection_names() if n != current and store.owns_collection(n)]
    if found.stale_collections:
        add("vectors", "stale_collections", found.stale_collections, "collections of this store left by an interrupted rebuild")
    n_chunks = store.count_chunks()
    report.checked["chunks"] = n_chunks
    if cheap and not found.pending_rows and not store.get_meta("dirty", False) and _vectors_unchanged(store, n_chunks):
        # the cheap check (before every write): no write was interrupted and the vectors are as the
        # last commit left them, so skip listing every id (O(N)); damage that keeps the count is the
        # deep check's
        report.checked["vectors"] = n_chunks
        _check_lexical(store, n_chunks, None, cheap, found, add)
        report.seconds = round(time.perf_counter() - started, 3)
        return report, found

    hashes = store.chunk_hashes()
    committed = set(hashes)
    found.pending = [c for c in found.pending_rows if c not in committed]
    if found.pending_rows:
        add("manifest", "pending_deletes", found.pending_rows, "stale vectors of an interrupted write not yet deleted")
    if cheap:
        present = vectors.ids()
    else:  # one pass over the vectors gives their ids and their values
        present, pages = set(), []
        for ids, matrix in vectors.iter_vectors():
            present.update(ids)
            pages.append((ids, matrix))
    report.checked["vectors"] = len(present)
    found.missing = sorted(committed - present)
    found.extra = sorted(present - committed - set(found.pending))
    if found.missing:
        add("vectors", "missing_vectors", found.missing, "committed chunks without a vector")
    if found.extra:
        add("vectors", "extra_vectors", found.extra, "vectors of chunks the manifest does not hold")
    if not cheap and committed & present:
        _compare_vectors(store, hashes, pages, report, found, add)

    _check_lexical(store, len(committed), committed, cheap, found, add)
    if not cheap:  # the graph commits in the manifest's transaction: its check looks for bugs, not crashes
        _check_graph(store, found, add)
    report.seconds = round(time.perf_counter() - started, 3)
    return report, found


def _vectors_unchanged(store: Store, n_chunks: int) -> bool:
    """Whether the collection is as the last clean commit left it: its change token is the recorded
    one (O(1)), or, where that differs or the backend has none, it holds as many vectors as the
    manifest chunks (chroma counts by scanning: 0.12 s at 1M vectors)."""
    token = store.vectors.change_token()
    if token is not None and token == store.get_meta("vectors_token"):
        return True
    return store.vectors.count() == n_chunks


def _compare_vectors(
    store: Store, hashes: dict[str, str], pages: list[tuple[list[str], np.ndarray]], report: CheckReport,
    found: Recovery, add: Any,
) -> None:
    """Every stored vector against the embedding cache: dimension and values."""
    dims: set[int] = set()
    wrong: list[str] = []
    uncached = 0
    compared = 0
    for ids, matrix in pages:
        keep = [i for i, cid in enumerate(ids) if cid in hashes]
        if not keep:
            continue
        cached = store.cached_vectors(hashes[ids[i]] for i in keep)
        for i in keep:
            ref = cached.get(hashes[ids[i]])
            if ref is None:
                uncached += 1
                continue
            compared += 1
            row = matrix[i]
            if row.shape != ref.shape:
                dims.add(int(row.shape[0]))
                wrong.append(ids[i])
            elif float(np.max(np.abs(row - ref))) > VECTOR_TOLERANCE:
                wrong.append(ids[i])
    report.checked["vectors_compared"] = compared
    report.checked["vectors_uncached"] = uncached
    if dims:
        found.reset_collection = True
        add("vectors", "wrong_dimension", wrong, f"vectors of dimension {sorted(dims)} differ from the embedder's")
    elif wrong:
        found.wrong = wrong
        add("vectors", "wrong_vectors", wrong, "vectors that differ from the embedding cache")


def _check_lexical(
    store: Store, n_chunks: int, committed: set[str] | None, cheap: bool, found: Recovery, add: Any
) -> None:
    """The published lexical generation is the committed one and readable, holds as many live chunks
    as the manifest (cheap: O(1)); deep: the same ids, and sampled queries score as a fresh bm25s index."""
    base = store.path / "lexical"
    gen = store.generation
    if gen == 0 and not n_chunks:
        return
    if not generations.is_published(base, gen):
        found.lexical = True
        pointer = generations.current_name(base)
        found.lexical_behind = pointer is not None
        add("lexical", "lexical_stale", 1, f"CURRENT points to {pointer!r}, the committed generation is gen-{gen}")
        return
    index = generations.load(base, gen)
    if index is None:
        found.lexical = True
        add("lexical", "lexical_unreadable", 1, f"the saved index gen-{gen} cannot be read")
        return
    if index.n_live != n_chunks:
        found.lexical = True
        add("lexical", "lexical_ids", abs(index.n_live - n_chunks) or 1,
            f"the saved index holds {index.n_live} chunks, the manifest {n_chunks}")
        return
    if cheap or not committed:
        return
    try:
        ids = set(index.ids)
        saved = len(index.ids)
    except (OSError, ValueError, UnicodeDecodeError):
        found.lexical = True
        add("lexical", "lexical_unreadable", 1, f"the saved index gen-{gen} cannot be read")
        return
    if ids != committed or saved != len(ids):
        found.lexical = True
        add("lexical", "lexical_ids", len(ids ^ committed) or 1, "the saved index's ids differ from the manifest's")
        return
    fresh = store.build_lexical()
    rng = random.Random(store.generation)
    sample = rng.sample(sorted(committed), min(LEXICAL_SAMPLE, len(committed)))
    queries = [" ".join(c.text.split()[:12]) for c in store.chunks(sample)]
    bad = 0
    try:
        got_all = index.query_batch(queries, 10)
    except (OSError, ValueError, IndexError):
        got_all = [[] for _ in queries]
    for got, want in zip(got_all, fresh.query_batch(queries, 10)):
        if [g[0] for g in got] != [w[0] for w in want] or any(
            abs(g[1] - w[1]) > SCORE_TOLERANCE for g, w in zip(got, want)
        ):
            bad += 1
    if bad:
        found.lexical = True
        add("lexical", "lexical_scores", bad, f"{bad} of {len(queries)} sampled queries score differently from a fresh index")


def _check_graph(store: Store, found: Recovery, add: Any) -> None:
    """The graph's rows commit with the chunks they come from; check their provenance all the same
    (a rebuild from the committed documents repairs them: ``Kit.check(repair=True)``)."""
    from graphs.store import check_consistency

    for problem in check_consistency(store.db):
        found.graph = True
        count = int(problem.split(" ", 1)[0]) if problem.split(" ", 1)[0].isdigit() else 1
        add("graph", "graph_rows", count, problem)
