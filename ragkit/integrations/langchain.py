"""LangChain adapters (``pip install 'ragkit[integrations]'``):

- :class:`RagkitRetriever`: a ``BaseRetriever`` (sync and async) returning ``Document``s whose metadata
  carries ragkit's provenance (source, page, heading, span, chunk id, score ...).
- :class:`RagkitAsk`: a Runnable answering a question (or ``{"question", "history"}``) with ragkit's
  verified, cited answer as a dict (``answer``, ``citations``, ``sentences``, ``grounded`` ...).
- :class:`RagkitLoader`: a document loader over ragkit's connectors (PDF tables, OCR, DOCX, XLSX ...).
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Optional, Self, Union

from ragkit.extras import require

require("langchain_core", "integrations", "ragkit.integrations.langchain")

from langchain_core.callbacks import (  # noqa: E402
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.document_loaders import BaseLoader  # noqa: E402
from langchain_core.documents import Document  # noqa: E402
from langchain_core.retrievers import BaseRetriever  # noqa: E402
from langchain_core.runnables import RunnableConfig, RunnableSerializable  # noqa: E402
from pydantic import BaseModel, ConfigDict, Field, model_validator  # noqa: E402

from ragkit.access import Principal, Scope  # noqa: E402
from ragkit.integrations.provenance import (  # noqa: E402
    document_metadata,
    hit_metadata,
    load_documents,
    open_kit,
    reader,
)
from ragkit.kit import Kit  # noqa: E402
from ragkit.types import Answer  # noqa: E402

Labels = Union[str, list[str], Principal, None]  # what ``principal=`` takes (ragkit.access.principal)


class _OnKit(BaseModel):
    """Shared by the retriever and the runnable: a Kit given, or opened from ``path``, and the
    principal every query runs as (required)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kit: Optional[Kit] = None
    path: Optional[str] = None
    where: Optional[dict[str, Any]] = None
    principal: Labels = None

    @model_validator(mode="after")
    def _open(self) -> Self:
        self.principal = reader(self.principal, type(self).__name__)  # before the store opens: fails closed
        self.kit = open_kit(self.kit, self.path)
        return self

    @property
    def store(self) -> Kit:
        """The Kit (always set once the model is built)."""
        if self.kit is None:
            raise ValueError("no Kit: pass kit=ragkit.open(...) or path='store directory'")
        return self.kit

    def scope(self, where: dict[str, Any] | None = None) -> Scope:
        """The call's ``where`` (else the adapter's) under the adapter's principal."""
        return Scope.of(where or self.where, self.principal)


class RagkitRetriever(_OnKit, BaseRetriever):
    """ragkit's hybrid search as a LangChain retriever.

    ``RagkitRetriever(kit=ragkit.open(".ragkit"), k=4, principal="hr")`` or
    ``RagkitRetriever(path=".ragkit", principal="")``; ``invoke(query, k=..., mode=..., where=...)``
    overrides the defaults per call. ``principal`` is required and fixed for the retriever's life:
    ``""`` reads public documents only, ``"hr"`` or ``["hr", "legal"]`` what those labels read, ``"*"``
    everything (the store's owner); it finds only chunks of documents the principal reads
    (docs/access.md).
    """

    k: int = Field(4, ge=1)
    mode: Optional[str] = None

    def _search(self, query: str, k: int | None, mode: str | None, where: dict[str, Any] | None) -> list[Document]:
        hits = self.store.search(query, k=k or self.k, mode=mode or self.mode, where=self.scope(where))
        return [Document(page_content=h.chunk.text, metadata=hit_metadata(h), id=h.chunk.chunk_id) for h in hits]

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        mode: str | None = None,
        where: dict[str, Any] | None = None,
    ) -> list[Document]:
        return self._search(query, k, mode, where)

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        mode: str | None = None,
        where: dict[str, Any] | None = None,
    ) -> list[Document]:
        return await asyncio.to_thread(self._search, query, k, mode, where)


class RagkitAsk(_OnKit, RunnableSerializable[Any, dict[str, Any]]):
    """``kit.ask`` (or ``kit.chat`` with ``history``) as a Runnable; the output dict carries the citations.

    Input: a question string, or ``{"question": ..., "history": [{"role", "content"}, ...]}``.
    ``principal`` (required, as for :class:`RagkitRetriever`): the access labels the answer is built
    from (docs/access.md).
    """

    generator: Optional[str] = None
    k: Optional[int] = None

    def _ask(self, value: Any) -> dict[str, Any]:
        if isinstance(value, dict):
            question, history = str(value["question"]), value.get("history")
        else:
            question, history = str(value), None
        answer: Answer
        if history:
            answer = self.store.chat(list(history), question, generator=self.generator, k=self.k, where=self.scope())
        else:
            answer = self.store.ask(question, generator=self.generator, k=self.k, where=self.scope())
        return answer.to_dict()

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> dict[str, Any]:  # noqa: A002
        return self._call_with_config(self._ask, input, config, run_type="chain")

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> dict[str, Any]:  # noqa: A002
        return await asyncio.to_thread(self.invoke, input, config)


class RagkitLoader(BaseLoader):
    """Files and folders parsed by ragkit's connectors, one LangChain Document per file.

    ``RagkitLoader("docs/").lazy_load()``; metadata: source, format, content hash, pages, tables, images.
    """

    def __init__(
        self,
        path: str | Path | Sequence[str | Path],
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        skip_errors: bool = False,
    ):
        self.path = path
        self.include = include
        self.exclude = exclude
        self.skip_errors = skip_errors

    def lazy_load(self) -> Iterator[Document]:
        for doc in load_documents(self.path, self.include, self.exclude, self.skip_errors):
            yield Document(page_content=doc.text, metadata=document_metadata(doc), id=doc.doc_id)


__all__ = ["RagkitAsk", "RagkitLoader", "RagkitRetriever"]
