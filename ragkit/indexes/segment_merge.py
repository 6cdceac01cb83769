"""Merging lexical segments in bounded memory: the same files the in-memory merge wrote, byte for byte.

A merge of segments holding N rows used to load every term, id and posting of its inputs (Python
objects, whole arrays, an argsort of all postings): its peak grew with the index, and the last merges
of a 100,000-file ingest set that ingest's peak memory (docs/benchmarks.md). Here the inputs are read
with plain file reads (no memory-mapped pages that would count in the process's RSS) and the output is
written a block of postings at a time: what stays in memory is a few numbers per row and per term
(offsets, the row and term maps, the merged term blob), not the postings, ids or tokens.

Layout written (see :class:`ragkit.indexes.segments.Segment`): terms sorted by bytes (the union of the
inputs' terms), postings in (term, row) order with rows renumbered over the live rows of the inputs in
order, ids and lengths of the live rows, ``id_order`` sorting the ids. Hand-written: numpy has no
streaming merge of CSC matrices with string keys.
"""
from __future__ import annotations

import heapq
import itertools
import json
import os
import shutil
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

if TYPE_CHECKING:
    from ragkit.indexes.segments import Segment

BLOCK_POSTINGS = 1 << 16  # postings per written block (~3 MB of transient arrays, whatever the index size)
BLOCK_ROWS = 1 << 14  # rows (or terms) read at a time from an input


class NpyReader:
    """Ranges of a 1-D ``.npy`` file read with ``os.pread`` (the file is never memory-mapped)."""

    def __init__(self, path: Path):
        self.fh = open(path, "rb")  # noqa: SIM115 - held for preads until close()
        version = np.lib.format.read_magic(self.fh)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, self.dtype = read_header(self.fh)
        self.size = int(shape[0])
        self.start = self.fh.tell()

    def read(self, a: int, z: int) -> np.ndarray:
        count = max(0, z - a)
        item = self.dtype.itemsize
        data = os.pread(self.fh.fileno(), count * item, self.start + a * item)
        return np.frombuffer(data, dtype=self.dtype, count=count)

    def all(self) -> np.ndarray:
        return self.read(0, self.size)

    def close(self) -> None:
        self.fh.close()


class NpyWriter:
    """A 1-D ``.npy`` file of ``n`` items of ``dtype`` written in pieces; same bytes as ``np.save``."""

    def __init__(self, path: Path, dtype: np.dtype | type, n: int):
        self.dtype = np.dtype(dtype)
        self.n, self.written = n, 0
        self.fh: BinaryIO = open(path, "wb")  # noqa: SIM115 - written in pieces until close()
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": (n,)}
        np.lib.format.write_array_header_1_0(self.fh, header)

    def write(self, values: np.ndarray | bytes) -> None:
        data = values if isinstance(values, bytes) else np.ascontiguousarray(values, dtype=self.dtype).tobytes()
        self.written += len(data) // self.dtype.itemsize
        self.fh.write(data)

    def close(self) -> None:
        self.fh.close()
        if self.written != self.n:
            raise ValueError(f"{self.fh.name}: wrote {self.written} items, expected {self.n}")


class _Part:
    """One input segment's files and live rows, read in pieces."""

    def __init__(self, seg: Segment, alive: np.ndarray | None, base: int):
        self.path = seg.path
        self.rows = seg.rows
        self.alive = alive
        self.base = base  # its first live row's number in the merged segment
        self.newrow = None if alive is None else (np.cumsum(alive, dtype=np.int64) - 1)
        self.live = self.rows if alive is None else int(alive.sum())
        self.indptr = NpyReader(self.path / "indptr.npy").all().astype(np.int64)
        self.id_off = NpyReader(self.path / "ids.off.npy").all()
        self.docs = NpyReader(self.path / "docs.npy")
        self.tfs = NpyReader(self.path / "tfs.npy")
        self.ids = NpyReader(self.path / "ids.bin.npy")
        self.term_map = np.zeros(0, dtype=np.int64)  # local term -> merged term (set by merge_terms)

    def terms(self) -> Iterator[bytes]:
        """The part's terms in order, read a block at a time."""
        off = NpyReader(self.path / "terms.off.npy")
        blob = NpyReader(self.path / "terms.bin.npy")
        try:
            for t0 in range(0, off.size - 1, BLOCK_ROWS):
                bounds = off.read(t0, min(t0 + BLOCK_ROWS, off.size - 1) + 1)
                raw = blob.read(int(bounds[0]), int(bounds[-1])).tobytes()
                rel = (bounds - bounds[0]).tolist()
                for a, z in itertools.pairwise(rel):
                    yield raw[a:z]
        finally:
            off.close()
            blob.close()

    def live_counts(self) -> np.ndarray:
        """Live postings per local term."""
        counts = np.diff(self.indptr)
        if self.alive is None:
            return counts
        out = np.zeros(len(counts), dtype=np.int64)
        for a in range(0, int(self.indptr[-1]), BLOCK_POSTINGS):
            z = min(a + BLOCK_POSTINGS, int(self.indptr[-1]))
            keep = self.alive[self.docs.read(a, z)]
            term = np.searchsorted(self.indptr, np.arange(a, z), side="right") - 1
            out += np.bincount(term[keep], minlength=len(counts))
        return out

    def postings(self, t0: int, t1: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(key = merged term * n + merged row, tf) of the live postings of merged terms [t0, t1)."""
        a, b = np.searchsorted(self.term_map, [t0, t1])
        p, q = int(self.indptr[a]), int(self.indptr[b])
        docs = self.docs.read(p, q).astype(np.int64)
        tfs = self.tfs.read(p, q)
        term = np.repeat(self.term_map[a:b], np.diff(self.indptr[a : b + 1]))
        if self.alive is not None and self.newrow is not None:  # newrow is None exactly when alive is
            keep = self.alive[docs]
            term, docs, tfs = term[keep], docs[keep], tfs[keep]
            docs = self.newrow[docs]
        return term * n + docs + self.base, tfs

    def id_lengths(self) -> np.ndarray:
        return np.diff(self.id_off)

    def live_id_blocks(self) -> Iterator[bytes]:
        """The live rows' id bytes, in row order, a block of rows at a time."""
        for r0 in range(0, self.rows, BLOCK_ROWS):
            r1 = min(r0 + BLOCK_ROWS, self.rows)
            a, z = int(self.id_off[r0]), int(self.id_off[r1])
            data = self.ids.read(a, z)
            if self.alive is not None:
                data = data[np.repeat(self.alive[r0:r1], np.diff(self.id_off[r0 : r1 + 1]))]
            yield data.tobytes()

    def sorted_ids(self) -> Iterator[tuple[bytes, int]]:
        """(id bytes, merged row) of the live rows, by id."""
        order = NpyReader(self.path / "id_order.npy")
        fd, start = self.ids.fh.fileno(), self.ids.start
        for r0 in range(0, order.size, BLOCK_ROWS):
            rows = order.read(r0, min(r0 + BLOCK_ROWS, order.size)).astype(np.int64)
            if self.alive is not None and self.newrow is not None:
                rows = rows[self.alive[rows]]
                new = self.newrow[rows] + self.base
            else:
                new = rows + self.base
            starts, ends = self.id_off[rows].tolist(), self.id_off[rows + 1].tolist()
            for a, z, r in zip(starts, ends, new.tolist()):
                yield os.pread(fd, z - a, start + a), r
        order.close()

    def close(self) -> None:
        for reader in (self.docs, self.tfs, self.ids):
            reader.close()


def merge_segments(path: Path, segments: Sequence[tuple[Segment, np.ndarray | None]]) -> None:
    """Write one segment at ``path`` holding the live rows of ``segments`` ((segment, alive mask or
    None)), in order: the bytes :func:`ragkit.indexes.segments._write_postings` would write for them."""
    parts: list[_Part] = []
    base = 0
    try:
        for seg, alive in segments:
            parts.append(_Part(seg, alive, base))
            base += parts[-1].live
        _write(path, parts, base)
    finally:
        for part in parts:
            part.close()


def _merge_terms(parts: Sequence[_Part]) -> tuple[bytes, np.ndarray]:
    """The merged, sorted term blob and its offsets; sets each part's local -> merged term map."""
    blob = bytearray()
    offsets = [0]
    maps = [array("q") for _ in parts]  # 8 bytes a term, not a Python int each
    streams = [_tagged(part.terms(), k) for k, part in enumerate(parts)]
    last: bytes | None = None
    for term, k in heapq.merge(*streams):
        if term != last:
            blob += term
            offsets.append(len(blob))
            last = term
        maps[k].append(len(offsets) - 2)
    for part, local in zip(parts, maps):
        part.term_map = np.frombuffer(local, dtype=np.int64) if len(local) else np.zeros(0, np.int64)
    return bytes(blob), np.asarray(offsets, dtype=np.int64)


def _tagged(items: Iterator[bytes], tag: int) -> Iterator[tuple[bytes, int]]:
    for item in items:
        yield item, tag


def _write(path: Path, parts: Sequence[_Part], rows: int) -> None:
    n = max(rows, 1)
    tmp = path.with_name(f".tmp-{path.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    terms, term_off = _merge_terms(parts)
    n_terms = len(term_off) - 1
    np.save(tmp / "terms.off.npy", term_off)
    np.save(tmp / "terms.bin.npy", np.frombuffer(terms, dtype=np.uint8))
    del terms

    # postings: indptr from each part's live counts, then (term, row)-sorted blocks of whole terms
    counts = np.zeros(n_terms, dtype=np.int64)
    for part in parts:
        np.add.at(counts, part.term_map, part.live_counts())
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    del counts
    np.save(tmp / "indptr.npy", indptr)
    total = int(indptr[-1])
    docs_out = NpyWriter(tmp / "docs.npy", np.int32, total)
    tfs_out = NpyWriter(tmp / "tfs.npy", np.float32, total)
    t0 = 0
    while t0 < n_terms:
        # whole terms, about BLOCK_POSTINGS postings (at least one term)
        t1 = max(t0 + 1, int(np.searchsorted(indptr, indptr[t0] + BLOCK_POSTINGS, side="right")) - 1)
        t1 = min(t1, n_terms)
        keys, tfs = zip(*(part.postings(t0, t1, n) for part in parts)) if parts else ((), ())
        key = np.concatenate(keys) if keys else np.zeros(0, np.int64)
        tf = np.concatenate(tfs) if tfs else np.zeros(0, np.float32)
        order = np.argsort(key, kind="stable")
        docs_out.write((key[order] % n).astype(np.int32))
        tfs_out.write(tf[order].astype(np.float32))
        t0 = t1
    docs_out.close()
    tfs_out.close()
    del indptr

    # rows: ids (row order), their offsets, id order (a k-way merge of the parts' sorted ids), lengths
    lengths = [part.id_lengths() for part in parts]
    live_lengths = [ln if p.alive is None else ln[p.alive] for p, ln in zip(parts, lengths)]
    id_bytes = int(sum(int(ln.sum()) for ln in live_lengths))
    ids_out = NpyWriter(tmp / "ids.bin.npy", np.uint8, id_bytes)
    for part in parts:
        for id_block in part.live_id_blocks():
            ids_out.write(id_block)
    ids_out.close()
    off_out = NpyWriter(tmp / "ids.off.npy", np.int64, rows + 1)
    off_out.write(np.zeros(1, np.int64))
    running = 0
    for ln in live_lengths:
        if len(ln):
            off_out.write(np.cumsum(ln) + running)
            running += int(ln.sum())
    off_out.close()
    del lengths, live_lengths
    order_out = NpyWriter(tmp / "id_order.npy", np.int64, rows)
    pending: list[int] = []
    for _, row in heapq.merge(*(part.sorted_ids() for part in parts)):
        pending.append(row)
        if len(pending) >= BLOCK_ROWS:
            order_out.write(np.asarray(pending, dtype=np.int64))
            pending = []
    order_out.write(np.asarray(pending, dtype=np.int64))
    order_out.close()
    lens_out = NpyWriter(tmp / "lens.npy", np.int32, rows)
    total_len = 0
    for part in parts:
        lens = NpyReader(part.path / "lens.npy")
        for r0 in range(0, part.rows, BLOCK_ROWS):
            r1 = min(r0 + BLOCK_ROWS, part.rows)
            block = lens.read(r0, r1)
            if part.alive is not None:
                block = block[part.alive[r0:r1]]
            lens_out.write(block)
            total_len += int(block.sum(dtype=np.int64))
        lens.close()
    lens_out.close()
    (tmp / "meta.json").write_text(json.dumps({"rows": rows, "total_len": total_len}))
    os.replace(tmp, path)
