"""A segmented BM25 index whose scores equal a full bm25s rebuild over the live chunks, bit for bit.

bm25s precomputes one score per (chunk, term), which depends on corpus-wide statistics (chunk count,
average length, document frequencies), so adding one chunk changes every stored score: a commit would
cost O(N). Here each commit writes a small immutable *segment* (term -> postings of (row, tf), row
lengths, chunk ids) and deletions are tombstones; the corpus statistics are summed over the live rows
of all segments and the score is computed at query time with bm25s's own formula and float types
(lucene method: idf = log(1 + (N - df + 0.5) / (df + 0.5)) in float32, tfc in float64, the product
rounded to float32, the terms summed in float32 in query order), so the result equals what
``bm25s.BM25().index(all live texts)`` gives. Tokenization is bm25s's (English stopwords, PyStemmer
Snowball English), one text at a time as bm25s does.

Hand-written on purpose: bm25s, tantivy and SQLite FTS5 offer no exact incremental BM25 with bm25s's
scores (bench/lexical_choice.py, docs/benchmarks.md). Every array is a .npy file opened with
``mmap_mode="r"``, so opening a million-chunk index reads only what queries touch.
"""
from __future__ import annotations

import bisect
import heapq
import json
import math
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragkit.indexes.ranking import top_k

K1 = 1.2
B = 0.75


class Blob(Sequence[bytes]):
    """A read-only list of byte strings: one blob and an offsets array (both memory-mapped)."""

    def __init__(self, data: np.ndarray, offsets: np.ndarray):
        self.data = data
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> bytes:  # type: ignore[override]
        a, z = self.offsets[i : i + 2]
        return self.data[a:z].tobytes()

    @staticmethod
    def write(path: Path, stem: str, items: Sequence[bytes]) -> None:
        lengths = np.fromiter((len(x) for x in items), dtype=np.int64, count=len(items))
        offsets = np.zeros(len(items) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        np.save(path / f"{stem}.off.npy", offsets)
        np.save(path / f"{stem}.bin.npy", np.frombuffer(b"".join(items), dtype=np.uint8))

    @classmethod
    def open(cls, path: Path, stem: str) -> Blob:
        return cls(_load(path / f"{stem}.bin.npy"), _load(path / f"{stem}.off.npy"))


def _load(path: Path) -> np.ndarray:
    arr = np.load(path, mmap_mode="r")
    # a plain ndarray view of the mapping: np.memmap's own indexing costs ~10x more per access
    return np.asarray(arr) if arr.size else np.load(path)  # an empty array cannot be memory-mapped


class _Sorted(Sequence[bytes]):
    """``blob`` seen in the order of ``order`` (for bisecting ids)."""

    def __init__(self, blob: Blob, order: np.ndarray):
        self.blob, self.order = blob, order

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, i: int) -> bytes:  # type: ignore[override]
        return self.blob[int(self.order[i])]


class Segment:
    """One immutable segment folder: rows (chunks) with their lengths and ids; sorted terms with
    postings (local row, tf) in CSC order."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.name = self.path.name
        meta = json.loads((self.path / "meta.json").read_text())
        self.rows = int(meta["rows"])
        self.total_len = int(meta["total_len"])
        self.terms = Blob.open(self.path, "terms")
        self.ids = Blob.open(self.path, "ids")
        self.id_order = _load(self.path / "id_order.npy")
        self.indptr = _load(self.path / "indptr.npy")
        self.docs = _load(self.path / "docs.npy")
        self.tfs = _load(self.path / "tfs.npy")
        self.lens = _load(self.path / "lens.npy")
        self._lookup: dict[bytes, int] | None = None

    def term(self, token: bytes) -> int:
        """The term's index, or -1 (a dict built on first use: one pass over the term blob, then O(1)
        per lookup instead of ~20 Python-level probes of a binary search)."""
        if self._lookup is None:
            raw = self.terms.data.tobytes()
            offs = self.terms.offsets.tolist()
            self._lookup = {raw[a:z]: i for i, (a, z) in enumerate(zip(offs, offs[1:]))}
        return self._lookup.get(token, -1)

    def row_of(self, chunk_id: bytes) -> int:
        """The local row holding ``chunk_id`` (live or not), or -1."""
        sorted_ids = _Sorted(self.ids, self.id_order)
        i = bisect.bisect_left(sorted_ids, chunk_id)
        return int(self.id_order[i]) if i < len(sorted_ids) and sorted_ids[i] == chunk_id else -1

    @staticmethod
    def write(path: Path, ids: Sequence[str], token_lists: Sequence[Sequence[str]]) -> None:
        """Write a segment of ``ids`` whose tokens are ``token_lists`` (bm25s's tokens per chunk)."""
        vocab: dict[str, int] = {}
        doc_of: list[int] = []
        term_of: list[int] = []
        for row, tokens in enumerate(token_lists):
            for tok in tokens:
                term_of.append(vocab.setdefault(tok, len(vocab)))
            doc_of.extend([row] * len(tokens))
        terms = sorted((t.encode("utf-8") for t in vocab), key=bytes)
        rank = np.empty(len(vocab), dtype=np.int64)
        for new, t in enumerate(terms):
            rank[vocab[t.decode("utf-8")]] = new
        lens = np.fromiter((len(t) for t in token_lists), dtype=np.int32, count=len(token_lists))
        n = max(len(ids), 1)
        keys = rank[np.asarray(term_of, dtype=np.int64)] * n + np.asarray(doc_of, dtype=np.int64) if term_of else np.zeros(0, np.int64)
        _write_postings(path, ids, terms, keys, None, lens)



def _write_postings(
    path: Path, ids: Sequence[str], terms: list[bytes], keys: np.ndarray, tfs: np.ndarray | None,
    lens: np.ndarray, sorted_unique: bool = False,
) -> None:
    """Write a segment folder from postings keyed ``term * rows + row`` (``tfs`` None: count duplicates)."""
    n = max(len(ids), 1)
    if sorted_unique:
        uniq = keys
    else:
        uniq, counts = np.unique(keys, return_counts=True)
        tfs = counts.astype(np.float32)
    term_ids = uniq // n
    indptr = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum(np.bincount(term_ids, minlength=len(terms)), out=indptr[1:])
    tmp = path.with_name(f".tmp-{path.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    encoded = [i.encode("utf-8") for i in ids]
    Blob.write(tmp, "terms", terms)
    Blob.write(tmp, "ids", encoded)
    np.save(tmp / "id_order.npy", np.array(sorted(range(len(encoded)), key=encoded.__getitem__), dtype=np.int64))
    np.save(tmp / "indptr.npy", indptr)
    np.save(tmp / "docs.npy", (uniq % n).astype(np.int32))
    np.save(tmp / "tfs.npy", np.asarray(tfs, dtype=np.float32))
    np.save(tmp / "lens.npy", np.asarray(lens, dtype=np.int32))
    (tmp / "meta.json").write_text(json.dumps({"rows": len(ids), "total_len": int(np.sum(lens, dtype=np.int64))}))
    os.replace(tmp, path)


class SegmentedIndex:
    """The lexical index of one committed generation: segments, their tombstones, global statistics.

    ``ids`` are the live chunk ids (row order); ``query_batch`` gives bm25s's scores over them.
    """

    def __init__(self, state: dict[str, Any], segments: list[tuple[Segment, np.ndarray | None]],
                 k1: float = K1, b: float = B, stopwords: str = "en", stem: bool = True):
        from ragkit.indexes.bm25 import Bm25Index

        self.state = state
        self.generation = int(state["generation"])
        self.segments = segments
        self.k1, self.b = k1, b
        self._tokenizer = Bm25Index(k1=k1, b=b, stopwords=stopwords, stem=stem)
        self.offsets = np.cumsum([0] + [seg.rows for seg, _ in segments])
        self.total_rows = int(self.offsets[-1])
        self.n_live = sum(int(s["live"]) for s in state["segments"])
        self.live_len = sum(int(s["live_len"]) for s in state["segments"])
        self._ids: list[str] | None = None
        self._live_rows: np.ndarray | None = None

    def settings(self) -> dict[str, Any]:
        return self._tokenizer.settings()

    @property
    def live_rows(self) -> np.ndarray:
        """Global row of each live chunk, in ``ids`` order."""
        if self._live_rows is None:
            parts = [
                (np.arange(seg.rows) if alive is None else np.flatnonzero(alive)) + off
                for (seg, alive), off in zip(self.segments, self.offsets)
            ]
            self._live_rows = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return self._live_rows

    @property
    def ids(self) -> list[str]:
        """The live chunk ids (built on first use: O(N), not needed by plain queries)."""
        if self._ids is None:
            out: list[str] = []
            for seg, alive in self.segments:
                rows = range(seg.rows) if alive is None else np.flatnonzero(alive)
                out.extend(seg.ids[int(r)].decode("utf-8") for r in rows)
            self._ids = out
        return self._ids

    def iter_sorted_ids(self, block: int = 16_384) -> Iterator[str]:
        """The live chunk ids in sorted order, streamed: a k-way merge of the segments' ``id_order``
        read a block at a time (memory follows the block, not the index; an id is live in one segment)."""

        def live_sorted(seg: Segment, alive: np.ndarray | None) -> Iterator[str]:
            data, offsets = seg.ids.data, seg.ids.offsets
            for start in range(0, seg.rows, block):
                rows = np.asarray(seg.id_order[start : start + block], dtype=np.int64)
                if alive is not None:
                    rows = rows[alive[rows]]
                for a, z in zip(offsets[rows].tolist(), offsets[rows + 1].tolist()):
                    yield data[a:z].tobytes().decode("utf-8")

        return heapq.merge(*(live_sorted(seg, alive) for seg, alive in self.segments))

    def ids_at(self, rows: np.ndarray) -> list[str]:
        """The chunk ids of global ``rows``."""
        segs = np.searchsorted(self.offsets, rows, side="right") - 1
        local = rows - self.offsets[segs]
        return [self.segments[s][0].ids[r].decode("utf-8") for s, r in zip(segs.tolist(), local.tolist())]

    def _postings(self, token: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(global rows, tf, row length) of the live rows containing ``token``."""
        key = token.encode("utf-8")
        rows, tfs, lens = [], [], []
        for (seg, alive), off in zip(self.segments, self.offsets):
            j = seg.term(key)
            if j < 0:
                continue
            a, z = int(seg.indptr[j]), int(seg.indptr[j + 1])
            docs = np.asarray(seg.docs[a:z])
            tf = np.asarray(seg.tfs[a:z])
            if alive is not None:
                keep = alive[docs]
                docs, tf = docs[keep], tf[keep]
            rows.append(docs.astype(np.int64) + int(off))
            tfs.append(tf)
            lens.append(np.asarray(seg.lens)[docs])
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.int32)
        return np.concatenate(rows), np.concatenate(tfs), np.concatenate(lens)

    def has_live(self, token: str) -> bool:
        """Whether some live row holds ``token``: a segment without tombstones that has the term, else a
        look at the term's postings in a tombstoned one (a term only in deleted rows is not held, so the
        answer is a fresh bm25s index's, as for the scores)."""
        key = token.encode("utf-8")
        for seg, alive in self.segments:
            j = seg.term(key)
            if j < 0:
                continue
            if alive is None:
                return True
            if alive[np.asarray(seg.docs[int(seg.indptr[j]) : int(seg.indptr[j + 1])])].any():
                return True
        return False

    def coverage(self, query: str) -> float:
        """The share of the query's terms (after the index's stopwords and stemming) that some live chunk
        holds; 1.0 when no term is left (nothing BM25 could miss). Costs at most the postings of the
        query's terms in the segments with tombstones, which a query reads anyway."""
        tokens = self._tokenizer._tokenize([query])[0] if query else []
        if not tokens:
            return 1.0
        held = {t: self.has_live(t) for t in set(tokens)}
        return sum(1 for t in tokens if held[t]) / len(tokens)

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """float32 scores over every global row (dead rows score 0), as bm25s computes them."""
        acc = np.zeros(self.total_rows, dtype=np.float32)
        if not self.n_live:
            return acc
        n = self.n_live
        l_avg = np.float64(self.live_len) / n  # == np.mean of the live lengths (exact integer sum)
        k1, b = self.k1, self.b
        cache: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
        for tok in tokens:
            if tok not in cache:
                rows, tf, dl = self._postings(tok)
                df = len(rows)
                if not df:
                    cache[tok] = None
                    continue
                idf = np.float32(math.log(1 + (n - df + 0.5) / (df + 0.5)))
                tfc = tf / (k1 * ((1 - b) + b * dl / l_avg) + tf)  # bm25s _score_tfc_robertson, float64
                cache[tok] = (rows, (idf * tfc).astype(np.float32))
            hit = cache[tok]
            if hit is not None:
                acc[hit[0]] += hit[1]  # rows are distinct within one term: one float32 add per row
        return acc

    def query(self, text: str, k: int) -> list[tuple[str, float]]:
        return self.query_batch([text], k)[0]

    def query_batch(
        self, texts: Sequence[str], k: int, mask: np.ndarray | None = None
    ) -> list[list[tuple[str, float]]]:
        """Top ``k`` (id, score) per query, ties by id; ``mask`` (0/1 per ``ids`` entry) restricts rows."""
        if not self.n_live or not texts:
            return [[] for _ in texts]
        full_mask = None
        if mask is not None:
            full_mask = np.zeros(self.total_rows, dtype=np.float32)
            full_mask[self.live_rows] = mask
        out = []
        for tokens in self._tokenizer._tokenize(texts):
            scores = self.scores(tokens)
            if full_mask is not None:
                scores *= full_mask
            out.append(top_k(scores, k, self.ids_at))
        return out
