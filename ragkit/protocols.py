"""Protocols for ragkit's pluggable parts, each true of the classes in use (``tests/test_protocols.py``).

The knowledge graph has none: it is written as rows of the manifest's own tables inside its transaction
(``graphs.store``) and read through its one in-memory form, ``graphs.traverse.GraphIndex``."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ragkit.access import Scope
from ragkit.types import Chunk, Document, Hit


@runtime_checkable
class Connector(Protocol):
    """Turns one file into a Document. Raises ``ConnectorError`` naming the file and the problem."""

    name: str
    formats: tuple[str, ...]

    def load(self, path: Path, source: str) -> Document: ...


@runtime_checkable
class Chunker(Protocol):
    """Splits a Document into Chunks with provenance."""

    def settings(self) -> dict[str, Any]: ...

    def run(self, document: Document) -> list[Chunk]: ...


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalized float32 vectors."""

    name: str

    @property
    def dimension(self) -> int:
        """The vectors' length (a property: a model-backed embedder knows it once its model loads)."""
        ...

    def settings(self) -> dict[str, Any]: ...

    def count_tokens(self, text: str) -> int: ...

    def token_offsets(self, text: str) -> list[tuple[int, int]]: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


@runtime_checkable
class VectorStore(Protocol):
    """Vectors keyed by chunk id in one named collection; what the store, the integrity check and
    dense retrieval use of it (``ragkit.indexes.chroma.ChromaVectorStore`` implements it)."""

    collection_name: str

    def upsert(self, ids: Sequence[str], vectors: np.ndarray) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def ids(self) -> set[str]: ...

    def count(self) -> int: ...

    def change_token(self) -> str | None:
        """A value, read in O(1), that any write to the collection changes; None if the backend has none."""
        ...

    def get_vectors(self, ids: Sequence[str]) -> np.ndarray: ...

    def iter_vectors(self, step: int = 5000) -> Iterator[tuple[list[str], np.ndarray]]: ...

    def query_batch(self, vectors: np.ndarray, k: int) -> list[list[tuple[str, float]]]: ...

    def collection_names(self) -> list[str]: ...

    def drop_collection(self, name: str) -> None: ...

    def reset_collection(self) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class LexicalIndex(Protocol):
    """A keyword index over chunk texts, as readers use it: what ``Store.lexical()`` serves (a
    ``ragkit.indexes.segments.SegmentedIndex``, the saved generation) and its in-memory fallback
    (``ragkit.indexes.bm25.Bm25Index``, also the reference the integrity check compares with) implement it.
    How an index is written is each class's own business (segments are published by
    ``ragkit.store.generations``; ``Bm25Index.build`` builds in memory)."""

    ids: list[str]  # the live chunk ids, in row order (``query_batch``'s ``mask`` follows it)

    def settings(self) -> dict[str, Any]: ...

    def query_batch(
        self, texts: Sequence[str], k: int, mask: np.ndarray | None = None
    ) -> list[list[tuple[str, float]]]: ...

    def coverage(self, query: str) -> float:
        """The share of the query's terms (after the index's own tokenization: stopwords, stemming)
        that some live chunk holds; 1.0 for a query with no term left."""
        ...


@runtime_checkable
class Retriever(Protocol):
    """Returns the best hits for a query."""

    def run(self, query: str, k: int = 10, scope: Scope | None = None) -> list[Hit]: ...


@runtime_checkable
class Reranker(Protocol):
    """Reorders hits by relevance to the query."""

    def run(self, query: str, hits: list[Hit], k: int | None = None) -> list[Hit]: ...


@runtime_checkable
class Generator(Protocol):
    """Writes an answer from a prompt; streams text pieces when asked."""

    name: str

    def generate(self, messages: list[dict[str, str]], max_tokens: int = 256) -> str: ...

    def stream(self, messages: list[dict[str, str]], max_tokens: int = 256) -> Iterator[str]: ...

    def generate_batch(self, batch: list[list[dict[str, str]]], max_tokens: int = 256) -> list[str]: ...


__all__ = [
    "Connector",
    "Chunker",
    "Embedder",
    "VectorStore",
    "LexicalIndex",
    "Retriever",
    "Reranker",
    "Generator",
    "Document",
]
