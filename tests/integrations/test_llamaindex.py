"""The LlamaIndex adapters inside a real RetrieverQueryEngine with llama-index's MockLLM."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import NodeWithScore, TextNode

from ragkit.integrations.llamaindex import RagkitReader, RagkitRetriever
from tests.conftest import REPO


def test_retriever_returns_nodes_with_provenance_and_spans(kit):
    nodes = RagkitRetriever(kit, k=2, principal="*").retrieve("requests per minute")
    assert len(nodes) == 2 and all(isinstance(n, NodeWithScore) and isinstance(n.node, TextNode) for n in nodes)
    top = nodes[0]
    meta = top.node.metadata
    assert meta["source"].endswith("api.md") and meta["chunk_id"] == top.node.node_id and top.score == meta["score"]
    text = kit.document_text(meta["doc_id"])
    assert text[top.node.start_char_idx : top.node.end_char_idx] == top.node.text
    assert top.node.ref_doc_id == meta["doc_id"]
    assert "chunk_id" not in top.node.get_content(metadata_mode="llm")  # provenance kept out of prompts


async def test_retriever_in_a_query_engine(kit):
    engine = RetrieverQueryEngine.from_args(RagkitRetriever(kit, k=2, principal="*"), llm=MockLLM(max_tokens=8))
    response = engine.query("How many requests per minute?")
    assert response.source_nodes and response.source_nodes[0].node.metadata["source"].endswith("api.md")
    assert isinstance(str(response), str)
    async_response = await asyncio.wait_for(engine.aquery("Upgrade from version 2?"), 60)
    assert any(n.node.metadata["source"].endswith("install.md") for n in async_response.source_nodes)


def test_reader_exposes_connectors(tmp_path: Path):
    docs = RagkitReader(include=["*.pdf", "*.html"]).load_data(REPO / "examples" / "docs")
    by_name = {Path(d.metadata["source"]).name: d for d in docs}
    assert set(by_name) == {"api.html", "release-notes.pdf", "security-policy.pdf"}
    assert by_name["release-notes.pdf"].metadata["tables"] == 1
    assert by_name["api.html"].doc_id == by_name["api.html"].metadata["doc_id"]
