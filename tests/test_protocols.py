"""The Protocols of ``ragkit.protocols`` are true of the classes in use: each is checked on real instances
of the classes its callers receive (a real store's vector store and the lexical index it serves, the
kit's chunker and embedder, the retrievers of its retrieval service, the rerankers and generators the
factories build offline), and every Protocol the module exports is checked here."""
from __future__ import annotations

import inspect
import typing
from pathlib import Path

from ragkit import protocols
from ragkit.protocols import Chunker, Connector, Embedder, Generator, LexicalIndex, Reranker, Retriever, VectorStore
from tests.conftest import write_files


def _members(proto: type) -> set[str]:
    attrs = getattr(proto, "__protocol_attrs__", None)  # Python >= 3.12
    return set(attrs) if attrs is not None else set(typing._get_protocol_attrs(proto))  # type: ignore[attr-defined]


def _missing(obj: object, proto: type) -> list[str]:
    """The members of ``proto`` that ``obj`` lacks, read without running properties (``isinstance`` on a
    Protocol with data members calls ``hasattr``: on a model-backed embedder that loads the model)."""
    out = []
    for name in sorted(_members(proto)):
        try:
            inspect.getattr_static(obj, name)
        except AttributeError:
            out.append(name)
    return out


def _instances(kit) -> dict[type, list[object]]:
    """Protocol -> real instances of every class in use for it."""
    from connectors.html import HtmlConnector
    from connectors.markdown import MarkdownConnector
    from connectors.text import TextConnector
    from ragkit.config import EmbedderConfig, GeneratorConfig, RerankerConfig
    from ragkit.embedding import make_embedder
    from ragkit.generation import GENERATORS, make_generator
    from ragkit.router import MODES
    from ragkit.retrieval.rerank import make_reranker

    svc = kit.retrieval
    return {
        Connector: [TextConnector(), MarkdownConnector(), HtmlConnector()],
        Chunker: [kit.chunker()],
        Embedder: [kit.embedder, make_embedder(EmbedderConfig(name="hash")), make_embedder(EmbedderConfig(name="minilm")),
                   make_embedder(EmbedderConfig(name="sentence-transformers", model_path="unused"))],
        VectorStore: [kit.store.vectors],
        LexicalIndex: [kit.store.lexical(), kit.store.build_lexical()],  # the served index and the fallback
        Retriever: [svc.retriever(mode) for mode in (*MODES, "graph")],
        Reranker: [make_reranker(RerankerConfig(name="nanoranker")),
                   make_reranker(RerankerConfig(name="cross-encoder", model_path="unused"))],
        Generator: [make_generator(GeneratorConfig(name=name)) for name in GENERATORS],
    }


def test_every_protocol_is_true_of_the_classes_in_use(hash_kit, tmp_path: Path):
    from ragkit.indexes.segments import SegmentedIndex

    hash_kit.index(write_files(tmp_path / "docs", {"a.txt": "The quick brown fox.", "b.md": "# Rivers\n\nThe Vistula."}))
    table = _instances(hash_kit)
    exported = {getattr(protocols, n) for n in protocols.__all__}
    exported = {p for p in exported if isinstance(p, type) and getattr(p, "_is_protocol", False)}
    assert exported == set(table), "a Protocol without a real class checked here: implement it or drop it"
    assert isinstance(table[LexicalIndex][0], SegmentedIndex)  # what a real store serves
    for proto, objects in table.items():
        for obj in objects:
            assert obj is not None and not _missing(obj, proto), (proto.__name__, type(obj).__name__, _missing(obj, proto))
            if proto is not Embedder or type(obj).__name__ == "HashEmbedder":  # isinstance would load a model
                assert isinstance(obj, proto), (proto.__name__, type(obj).__name__)


def test_the_served_lexical_index_is_a_lexical_index(hash_kit, tmp_path: Path):
    hash_kit.index(write_files(tmp_path / "docs", {"a.txt": "The quick brown fox jumps over the lazy dog."}))
    served = hash_kit.store.lexical()
    assert isinstance(served, LexicalIndex)
    assert served.coverage("brown fox") == 1.0 and served.query_batch(["brown fox"], 3)[0]


def test_stores_implement_their_protocols(tmp_path: Path):
    from ragkit.indexes.bm25 import Bm25Index
    from ragkit.indexes.chroma import ChromaVectorStore

    assert isinstance(ChromaVectorStore(tmp_path / "v"), VectorStore)
    assert isinstance(Bm25Index(), LexicalIndex)


def test_embedders_and_chunker_implement_their_protocols():
    from ragkit.chunking import StructuredChunker
    from ragkit.config import ChunkingConfig
    from ragkit.embedding import HashEmbedder, MiniLMEmbedder

    assert isinstance(HashEmbedder(), Embedder)
    assert isinstance(StructuredChunker(ChunkingConfig(), HashEmbedder().token_offsets), Chunker)
    assert not _missing(MiniLMEmbedder(), Embedder)
