"""The LangChain adapters inside real LangChain machinery: the standard retriever tests, an LCEL chain
with a fake chat model (sync and async), the ask runnable and the connector loader."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from langchain_tests.integration_tests import RetrieversIntegrationTests

from ragkit.integrations.langchain import RagkitAsk, RagkitLoader, RagkitRetriever
from tests.conftest import REPO

PROVENANCE = {"source", "doc_id", "chunk_id", "page", "heading", "heading_path", "span", "kind", "score", "scores"}


class TestRagkitRetrieverStandard(RetrieversIntegrationTests):
    """langchain-tests' standard retriever suite."""

    @pytest.fixture(autouse=True)
    def _store(self, kit):
        type(self).store_kit = kit

    @property
    def retriever_constructor(self) -> type[RagkitRetriever]:
        return RagkitRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"kit": type(self).store_kit, "k": 2, "principal": "*"}

    @property
    def retriever_query_example(self) -> str:
        return "how many requests per minute"


def format_docs(docs: list[Document]) -> str:
    return "\n".join(f"[{i}] ({Path(d.metadata['source']).name}) {d.page_content}" for i, d in enumerate(docs, 1))


def make_chain(retriever: RagkitRetriever, seen: list):
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from the context and cite [n].\n{context}"), ("human", "{question}")]
    )
    model = FakeListChatModel(responses=["Each token may make 600 requests per minute [1]."])
    capture = RunnableLambda(lambda value: seen.append(value) or value)
    return {"context": retriever | format_docs, "question": RunnablePassthrough()} | prompt | capture | model | StrOutputParser()


def test_retriever_metadata_is_ragkit_provenance(kit):
    docs = RagkitRetriever(kit=kit, k=2, principal="*").invoke("requests per minute")
    top = docs[0]
    assert PROVENANCE <= set(top.metadata) and top.id == top.metadata["chunk_id"]
    start, end = top.metadata["span"]
    assert kit.document_text(top.metadata["doc_id"])[start:end] == top.page_content
    assert top.metadata["source"].endswith("api.md") and top.metadata["heading"] == "API"
    only = RagkitRetriever(kit=kit, k=4, where={"format": "text"}, principal="*").invoke("encrypted")
    assert only and {Path(d.metadata["source"]).name for d in only} == {"faq.txt"}
    assert RagkitRetriever(kit=kit, principal="*").invoke("requests per minute", k=1, mode="lexical")[0].metadata["scores"].keys() == {"lexical"}


def test_retriever_in_an_lcel_chain(kit):
    seen: list = []
    chain = make_chain(RagkitRetriever(kit=kit, k=2, principal="*"), seen)
    assert chain.invoke("How many requests per minute?") == "Each token may make 600 requests per minute [1]."
    system = seen[0].to_messages()[0].content
    assert "(api.md) API\n\nThe REST API listens on port 7443" in system


async def test_retriever_in_an_lcel_chain_async(kit):
    seen: list = []
    chain = make_chain(RagkitRetriever(kit=kit, k=2, principal="*"), seen)
    answers = await asyncio.wait_for(
        asyncio.gather(chain.ainvoke("requests per minute?"), chain.ainvoke("Upgrade from version 2?")), 60)
    assert answers == ["Each token may make 600 requests per minute [1]."] * 2
    contexts = sorted(m.to_messages()[0].content for m in seen)
    assert any("600 requests" in c for c in contexts) and any("migrate command" in c for c in contexts)


async def test_ask_runnable_output_carries_citations(kit):
    ask = RagkitAsk(kit=kit, principal="*")
    out = ask.invoke("How many requests per minute may a token make?")
    assert "600" in out["answer"] and out["citations"][0]["source"].endswith("api.md")
    assert {"n", "chunk_id", "page", "heading", "span", "quote"} <= set(out["citations"][0])
    follow = (RagkitAsk(kit=kit, principal="*") | RunnableLambda(lambda o: o["citations"])).invoke(
        {"question": "How is it encrypted?", "history": [{"role": "user", "content": "Tell me about notes at rest."}]}
    )
    assert follow and follow[0]["source"].endswith("faq.txt")
    assert (await ask.ainvoke("port of the REST API?"))["citations"]


def test_loader_exposes_connectors_tables_and_ocr(tmp_path: Path):
    from tests.fixtures_docs import make_text_png

    docs = list(RagkitLoader(REPO / "examples" / "docs", include=["*.pdf"]).lazy_load())
    notes = next(d for d in docs if d.metadata["source"].endswith("release-notes.pdf"))
    assert notes.metadata["format"] == "pdf" and notes.metadata["tables"] == 1 and notes.metadata["pages"] == 1
    png = make_text_png(tmp_path / "scan.png", ["Invoice total 4,210 EUR"])
    (scan,) = RagkitLoader(png).load()
    assert "4,210" in scan.page_content and scan.metadata["format"] == "image"
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 nothing")
    assert [Path(d.metadata["source"]).name for d in RagkitLoader(tmp_path, skip_errors=True).lazy_load()] == ["scan.png"]
    with pytest.raises(Exception, match="broken.pdf"):
        list(RagkitLoader(tmp_path / "broken.pdf").lazy_load())
