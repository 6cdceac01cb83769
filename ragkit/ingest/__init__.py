"""Folder → changes (add / update / delete by content hash) → store, atomically and resumably.

An ingest scans the files (path, content hash and size only, recorded on disk in a
:class:`ragkit.ingest.scan.ScanLog`, so memory does not grow with the folder), then writes the changed ones in
batches (``ingest.batch_files`` / ``ingest.batch_bytes``), each batch committed as its own generation
by the write protocol (``Committer.commit_batch``), each step a phase reported to ``on_phase``:
1. ``parse``, ``chunk``, ``embed``: read the batch's files and chunk them (through the executor,
   :mod:`ragkit.executors`), embed what the embedding cache lacks (each embedding batch cached
   durably, so a rerun resumes).
2. ``vectors``: upsert the new chunks' vectors into chroma; ids not yet in the manifest are invisible
   to readers.
3. ``manifest``: one SQLite transaction swaps the batch's documents and chunks (and, with the first
   batch, deletes the documents of vanished files) and bumps the generation.
4. ``delete``: stale collections and vectors out; ``lexical``: a segment of the new chunks and tombstones
   of the removed ones are written beside the published lexical index and the new generation published
   by an atomic rename (:mod:`ragkit.store.generations`); ``merge`` (when the policy asks): segments
   merged and published again the same way.
A crash at any point leaves the last committed generation readable (the batches committed before it
stay); the next write first repairs the derived stores (:mod:`ragkit.integrity`, its cheap part) and
then does the rest, skipping the files whose content hash is already committed.

Rooms: :mod:`~ragkit.ingest.scan` (which files changed), :mod:`~ragkit.ingest.plan` (the batches),
:mod:`~ragkit.ingest.commit` (the write protocol), :mod:`~ragkit.ingest.indexer` (the entry points),
:mod:`~ragkit.ingest.report` (phases, progress and the report).
"""
from __future__ import annotations

from ragkit.ingest.commit import EMBED_BATCH, Committer
from ragkit.ingest.indexer import Indexer
from ragkit.ingest.report import PHASES, IndexReport, PhaseHook, Progress
from ragkit.ingest.scan import file_digest

__all__ = ["EMBED_BATCH", "PHASES", "Committer", "IndexReport", "Indexer", "PhaseHook", "Progress", "file_digest"]
