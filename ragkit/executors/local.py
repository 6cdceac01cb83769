"""The in-process executor (the default): parse, chunk and embed in the driver, one file at a time."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ragkit.chunking import StructuredChunker
from ragkit.executors.base import FileTask, Prepared
from ragkit.protocols import Embedder
from ragkit.types import ConnectorOptions, Document

if TYPE_CHECKING:
    from connectors.guard import ParseGuard


def parse_file(task: FileTask, options: ConnectorOptions, guard: ParseGuard | None = None) -> Document:
    """The one place a changed file is parsed (a connector picked by its format), in ``guard``'s worker
    processes (per-file timeout, memory cap) when given; raises ConnectorError (or a connector's bug)
    for the caller to turn into a failure."""
    if guard is not None:
        return guard.load(task.path, task.source)
    from connectors.registry import load

    return load(Path(task.path), task.source, options)


def prepare(
    task: FileTask, options: ConnectorOptions, chunker: StructuredChunker, guard: ParseGuard | None = None,
    parsed: Future[Document] | None = None,
) -> Prepared:
    """Parse (or take the ``parsed`` result of ``ParseGuard.load_many``) and chunk one file; a bad file
    (or one over ``limits.max_chunks``) gives a Prepared with ``error`` set, never an exception."""
    from connectors.base import ConnectorError
    from connectors.limits import check_chunks

    try:
        doc = parsed.result() if parsed is not None else parse_file(task, options, guard)
    except ConnectorError as exc:
        return Prepared(task, None, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - a connector bug must not abort a folder ingest
        return Prepared(task, None, error=f"{task.source}: {type(exc).__name__}: {exc}")
    doc.content_hash = task.digest
    doc.metadata = {**doc.metadata, **task.meta}  # before chunking: chunks copy both
    doc.labels = list(task.labels)
    chunks = chunker.run(doc)
    try:
        check_chunks(task.source, len(chunks), options)
    except ConnectorError as exc:
        return Prepared(task, None, error=str(exc))
    return Prepared(task, doc, chunks, [chunker.embed_text(c) for c in chunks])


class LocalExecutor:
    """Runs every stage in this process with the driver's embedder (no copies, no workers)."""

    def __init__(self, embedder: Embedder):
        self.embedder = embedder
        self._guard: ParseGuard | None = None

    def parse_chunk(
        self, tasks: Sequence[FileTask], options: ConnectorOptions, chunker: StructuredChunker
    ) -> Iterator[Prepared]:
        if tasks and options.parse_workers > 0 and self._guard is None:
            from connectors.guard import ParseGuard

            self._guard = ParseGuard(options)  # worker processes, started once and reused across batches
        if self._guard is None:
            for task in tasks:
                yield prepare(task, options, chunker)
            return
        # limits.parse_workers files parsed at once, handed back in order (each chunked as it comes)
        futures = self._guard.load_many((task.path, task.source) for task in tasks)
        for task, parsed in zip(tasks, futures):
            yield prepare(task, options, chunker, parsed=parsed)

    def embed(self, texts: Sequence[str]) -> list[np.ndarray]:
        if not texts:
            return []
        return list(np.asarray(self.embedder.embed(list(texts)), dtype=np.float32))

    def close(self) -> None:
        """Stop the parse workers (the embedder belongs to the caller)."""
        if self._guard is not None:
            self._guard.close()
            self._guard = None
