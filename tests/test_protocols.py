"""The pluggable parts implement the Protocols their callers are written against."""
from __future__ import annotations

from pathlib import Path

from ragkit.protocols import Chunker, Embedder, LexicalIndex, VectorStore


def test_stores_implement_their_protocols(tmp_path: Path):
    from ragkit.stores.bm25 import Bm25Index
    from ragkit.stores.chroma import ChromaVectorStore

    assert isinstance(ChromaVectorStore(tmp_path / "v"), VectorStore)
    assert isinstance(Bm25Index(), LexicalIndex)


def test_embedders_and_chunker_implement_their_protocols():
    from ragkit.chunking import StructuredChunker
    from ragkit.config import ChunkingConfig
    from ragkit.embedding import HashEmbedder, MiniLMEmbedder

    assert isinstance(HashEmbedder(), Embedder)
    assert isinstance(StructuredChunker(ChunkingConfig(), HashEmbedder().token_offsets), Chunker)
    assert hasattr(MiniLMEmbedder, "embed") and hasattr(MiniLMEmbedder, "count_tokens")
