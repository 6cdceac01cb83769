"""The lexical index on disk: immutable segment folders and tombstone files, and one ``CURRENT`` file (JSON)
naming the committed generation, its live segments and each one's tombstones. A commit writes its new
segment and tombstone files beside the old ones and then replaces ``CURRENT`` atomically (``os.replace``),
so a reader loads a whole index of one generation and a kill -9 at any point leaves the last published
one intact. Merges write a new segment and publish the same generation again the same way; files no
``CURRENT`` names any more are removed after each publish.

Layout: ``seg-<seq>-<rand>/`` (see :class:`ragkit.indexes.segments.Segment`), ``del-<segment>-<seq>.npy``
(sorted local rows deleted from that segment), ``CURRENT``.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragkit.indexes.segment_merge import merge_segments
from ragkit.indexes.segments import Segment, SegmentedIndex

POINTER = "CURRENT"
FORMAT = 2
MERGE_FACTOR = 4  # merge the newest segment into the one before while it is at least 1/4 of its size
SETTINGS = {"name": "bm25s", "k1": 1.2, "b": 0.75, "stopwords": "en", "stem": True}


def read_state(base: Path) -> dict[str, Any] | None:
    """The published state, or None when there is no readable one (none yet, an older format)."""
    try:
        state = json.loads((base / POINTER).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("format") != FORMAT or state.get("settings") != SETTINGS:
        return None
    return state


def current_name(base: Path) -> str | None:
    """The generation ``CURRENT`` names (as ``gen-N``), or None when there is no readable pointer."""
    state = read_state(base)
    return None if state is None else f"gen-{state['generation']}"


def is_published(base: Path, generation: int) -> bool:
    state = read_state(base)
    return state is not None and int(state["generation"]) == generation


def is_ahead(base: Path, generation: int) -> bool:
    """Whether a later generation than ``generation`` is published (the reader's view is stale)."""
    state = read_state(base)
    return state is not None and int(state["generation"]) > generation


def load(base: Path, generation: int, previous: SegmentedIndex | None = None) -> SegmentedIndex | None:
    """The published index of ``generation``, or None if another is published or it can't be read.
    Segments and tombstones already open in ``previous`` are reused."""
    for _ in range(3):  # a writer may remove the files of an older state between our two reads
        state = read_state(base)
        if state is None or int(state["generation"]) != generation:
            return None
        try:
            return _open(base, state, previous)
        except (OSError, ValueError, KeyError):
            continue
    return None


def _open(base: Path, state: dict[str, Any], previous: SegmentedIndex | None) -> SegmentedIndex:
    reuse: dict[str, Segment] = {}
    masks: dict[str | None, np.ndarray | None] = {}
    if previous is not None:
        for (seg, alive), info in zip(previous.segments, previous.state["segments"]):
            reuse[seg.name] = seg
            masks[info["deleted"]] = alive
    parts = []
    for info in state["segments"]:
        seg = reuse.get(info["name"]) or Segment(base / info["name"])
        deleted = info["deleted"]
        if deleted is None:
            alive = None
        elif deleted in masks and masks[deleted] is not None:
            alive = masks[deleted]
        else:
            alive = np.ones(seg.rows, dtype=bool)
            alive[np.load(base / deleted)] = False
        parts.append((seg, alive))
    return SegmentedIndex(state, parts)


def _write_state(base: Path, state: dict[str, Any]) -> None:
    tmp = base / f".{POINTER}.tmp"
    tmp.write_text(json.dumps(state))
    os.replace(tmp, base / POINTER)


def _collect(base: Path, state: dict[str, Any]) -> None:
    """Remove every file and folder the published state does not name."""
    keep = {POINTER} | {s["name"] for s in state["segments"]} | {s["deleted"] for s in state["segments"] if s["deleted"]}
    for entry in base.iterdir():
        if entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)


def _new_segment(base: Path, seq: int, ids: Sequence[str], tokens: Sequence[Sequence[str]]) -> dict[str, Any]:
    name = f"seg-{seq:010d}-{uuid.uuid4().hex[:6]}"
    Segment.write(base / name, ids, tokens)
    total = sum(len(t) for t in tokens)
    return {"name": name, "rows": len(ids), "deleted": None, "live": len(ids), "live_len": total}


def publish_full(base: Path, generation: int, ids: Sequence[str], texts: Sequence[str]) -> SegmentedIndex:
    """Publish ``generation`` as one segment holding ``ids`` (the manifest's chunks), dropping the rest."""
    from ragkit.indexes.bm25 import Bm25Index

    base.mkdir(parents=True, exist_ok=True)
    old = read_state(base)
    seq = int(old["seq"]) + 1 if old else 1
    segments = [_new_segment(base, seq, ids, Bm25Index()._tokenize(texts))] if ids else []
    state = {"format": FORMAT, "generation": generation, "seq": seq, "settings": SETTINGS, "segments": segments}
    _write_state(base, state)
    _collect(base, state)
    return _open(base, state, None)


def publish_delta(
    base: Path, generation: int, current: SegmentedIndex, removed: Iterable[str], added_ids: Sequence[str],
    added_texts: Sequence[str], on_merge: Callable[[], None] | None = None,
) -> SegmentedIndex:
    """Publish ``generation`` = ``current`` minus the chunks ``removed`` plus the chunks added (a new
    segment): O(changed) work, then the merges the policy asks for (each published the same way)."""
    from ragkit.indexes.bm25 import Bm25Index

    state = json.loads(json.dumps(current.state))
    seq = int(state["seq"]) + 1
    dead = _dead_rows(current, removed)
    segments = []
    for s, info in enumerate(state["segments"]):
        merged = _tombstone(current, s, info, dead.get(s))
        if merged is not None:
            info["deleted"] = f"del-{info['name']}-{seq:010d}.npy"
            np.save(base / info["deleted"], merged)
        if info["live"] > 0:
            segments.append(info)
    if added_ids:
        segments.append(_new_segment(base, seq, added_ids, Bm25Index()._tokenize(added_texts)))
    state.update(generation=generation, seq=seq, segments=segments)
    _write_state(base, state)
    _collect(base, state)
    index = _open(base, state, current)
    while (plan := merge_plan(state["segments"])) is not None:
        if on_merge is not None:
            on_merge()
        index, state = _merge(base, index, state, plan)
    return index


def overlay(current: SegmentedIndex, generation: int, removed: Iterable[str], added_ids: Sequence[str],
            added_texts: Sequence[str]) -> SegmentedIndex:
    """``current`` minus ``removed`` plus the chunks added, in memory, for a reader whose committed
    generation is not published yet: nothing is written to the store (the added rows go to a private
    temporary segment, unlinked once mapped). Scores equal those of the published delta."""
    from ragkit.indexes.bm25 import Bm25Index

    state = json.loads(json.dumps(current.state))
    dead = _dead_rows(current, removed)
    infos, parts = [], []
    for s, info in enumerate(state["segments"]):
        seg, alive = current.segments[s]
        merged = _tombstone(current, s, info, dead.get(s))
        if merged is not None:
            alive = np.ones(seg.rows, dtype=bool)
            alive[merged] = False
            info["deleted"] = f"overlay-{uuid.uuid4().hex}"  # names no file: never reused as a mask by _open
        if info["live"] > 0:
            infos.append(info)
            parts.append((seg, alive))
    if added_ids:
        tmp = Path(tempfile.mkdtemp(prefix="ragkit-overlay-"))
        try:
            name = f"overlay-{uuid.uuid4().hex}"  # never the name of a published segment
            tokens = Bm25Index()._tokenize(added_texts)
            Segment.write(tmp / name, added_ids, tokens)
            parts.append((Segment(tmp / name), None))
            infos.append({"name": name, "rows": len(added_ids), "deleted": None, "live": len(added_ids),
                          "live_len": sum(len(t) for t in tokens)})
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # the mapped arrays stay readable after the unlink
    state.update(generation=generation, segments=infos)
    return SegmentedIndex(state, parts)


def _dead_rows(current: SegmentedIndex, removed: Iterable[str]) -> dict[int, list[int]]:
    """segment position -> the local rows of ``removed`` (the live row of each id, newest segment first)."""
    dead: dict[int, list[int]] = {}
    for cid in dict.fromkeys(removed):
        key = cid.encode("utf-8")
        for s in range(len(current.segments) - 1, -1, -1):
            seg, alive = current.segments[s]
            row = seg.row_of(key)
            if row >= 0 and (alive is None or alive[row]):
                dead.setdefault(s, []).append(row)
                break
    return dead


def _tombstone(current: SegmentedIndex, s: int, info: dict[str, Any], rows: list[int] | None) -> np.ndarray | None:
    """Mark ``rows`` of segment ``s`` deleted in its ``info`` (live count and length); the segment's
    whole sorted deleted rows, or None when nothing changed."""
    if not rows:
        return None
    seg, alive = current.segments[s]
    old = np.flatnonzero(~alive) if alive is not None else np.zeros(0, dtype=np.int64)
    merged = np.union1d(old, np.asarray(rows, dtype=np.int64))
    info["live"] = int(info["rows"]) - len(merged)
    info["live_len"] = int(info["live_len"]) - int(np.asarray(seg.lens)[np.asarray(sorted(set(rows)))].sum())
    return merged


def merge_plan(segments: Sequence[dict[str, Any]]) -> tuple[int, int] | None:
    """Segments ``[start, end)`` to merge next, or None. A segment with more than half its rows deleted
    is rewritten; the newest segment merges into the one before while it is at least 1/MERGE_FACTOR of
    its size (a log-structured policy: each row is copied O(log N) times, so a commit of M chunks costs
    O(M log N) amortized, and there are O(log N) segments)."""
    for i, s in enumerate(segments):
        if s["deleted"] and 2 * int(s["live"]) < int(s["rows"]):
            return i, i + 1
    if len(segments) >= 2 and MERGE_FACTOR * int(segments[-1]["live"]) >= int(segments[-2]["live"]):
        return len(segments) - 2, len(segments)
    return None


def _merge(base: Path, index: SegmentedIndex, state: dict[str, Any], plan: tuple[int, int]
           ) -> tuple[SegmentedIndex, dict[str, Any]]:
    start, end = plan
    seq = int(state["seq"]) + 1
    name = f"seg-{seq:010d}-{uuid.uuid4().hex[:6]}"
    merge_segments(base / name, index.segments[start:end])  # the live rows, in bounded memory
    infos = state["segments"][start:end]
    merged = {"name": name, "rows": sum(int(s["live"]) for s in infos), "deleted": None,
              "live": sum(int(s["live"]) for s in infos), "live_len": sum(int(s["live_len"]) for s in infos)}
    state = dict(state, seq=seq, segments=state["segments"][:start] + [merged] + state["segments"][end:])
    _write_state(base, state)
    _collect(base, state)
    return _open(base, state, index), state
