"""The in-process executor (the default): parse, chunk and embed in the driver, one file at a time."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ragkit.chunking import StructuredChunker
from ragkit.executors.base import FileTask, Prepared
from ragkit.protocols import Embedder
from ragkit.types import ConnectorOptions, Document


def parse_file(task: FileTask, options: ConnectorOptions) -> Document:
    """The one place a changed file is parsed (a connector picked by its format); raises
    ConnectorError (or a connector's bug) for the caller to turn into a failure."""
    from connectors.registry import load

    return load(Path(task.path), task.source, options)


def prepare(task: FileTask, options: ConnectorOptions, chunker: StructuredChunker) -> Prepared:
    """Parse and chunk one file; a bad file gives a Prepared with ``error`` set, never an exception."""
    from connectors.base import ConnectorError

    try:
        doc = parse_file(task, options)
    except ConnectorError as exc:
        return Prepared(task, None, error=str(exc))
    except Exception as exc:  # a connector bug must not abort a folder ingest
        return Prepared(task, None, error=f"{task.source}: {type(exc).__name__}: {exc}")
    doc.content_hash = task.digest
    chunks = chunker.run(doc)
    return Prepared(task, doc, chunks, [chunker.embed_text(c) for c in chunks])


class LocalExecutor:
    """Runs every stage in this process with the driver's embedder (no copies, no workers)."""

    def __init__(self, embedder: Embedder):
        self.embedder = embedder

    def parse_chunk(
        self, tasks: Sequence[FileTask], options: ConnectorOptions, chunker: StructuredChunker
    ) -> Iterator[Prepared]:
        for task in tasks:
            yield prepare(task, options, chunker)

    def embed(self, texts: Sequence[str]) -> list[np.ndarray]:
        if not texts:
            return []
        return list(np.asarray(self.embedder.embed(list(texts)), dtype=np.float32))

    def close(self) -> None:
        """Nothing to release: the embedder belongs to the caller."""
