"""The executor seam: the heavy, pure stages of an ingest (parse + chunk each changed file, embed the
texts the embedding cache lacks) behind one Protocol, so they can run in this process or on a cluster.

The single writer in the driver (:class:`ragkit.ingest.Indexer`) keeps everything that touches the store:
hashing and diffing files, embedding-cache lookups and writes, graph building, vector upserts, the
manifest commit, the lexical publish and the lock. Durability does not depend on the executor.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from ragkit.chunking import StructuredChunker
from ragkit.types import Chunk, ConnectorOptions, Document


@dataclass(slots=True)  # an ingest holds one per changed file until its batch: keep it small
class FileTask:
    """One changed file for the parse+chunk stage."""

    root: str  # the indexed root it was found under
    path: str  # absolute path to read
    source: str  # doc_id (== str(path) today)
    digest: str  # content hash computed by the driver
    size: int = 0  # bytes on disk when scanned (sizes the driver's batches)


@dataclass
class Prepared:
    """The parse+chunk result for one FileTask (document None and error set when it failed)."""

    task: FileTask
    document: Document | None
    chunks: list[Chunk] = field(default_factory=list)
    embed_texts: list[str] = field(default_factory=list)  # chunker.embed_text(c) for each chunk, same order
    error: str | None = None  # a message naming the file and the problem


@runtime_checkable
class Executor(Protocol):
    """Runs the pure stages of an ingest; never touches the store."""

    def parse_chunk(
        self, tasks: Sequence[FileTask], options: ConnectorOptions, chunker: StructuredChunker
    ) -> Iterator[Prepared]:
        """Results in the order of ``tasks``. Never raises for one bad file: ``error`` is set instead."""
        ...

    def embed(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Vectors in input order (float32), equal to the driver embedder's output."""
        ...

    def close(self) -> None: ...
