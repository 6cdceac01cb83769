"""LlamaIndex adapters (``pip install 'ragkit[integrations]'``):

- :class:`RagkitRetriever`: a ``BaseRetriever`` returning ``NodeWithScore`` (``TextNode`` with ragkit's
  provenance in its metadata and the chunk's span as ``start_char_idx``/``end_char_idx``), usable in a
  ``RetrieverQueryEngine``.
- :class:`RagkitReader`: a reader over ragkit's connectors (PDF tables, OCR, DOCX, XLSX ...).
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragkit.extras import require

require("llama_index.core", "integrations", "ragkit.integrations.llamaindex")

from llama_index.core.readers.base import BaseReader  # noqa: E402
from llama_index.core.retrievers import BaseRetriever  # noqa: E402
from llama_index.core.schema import (  # noqa: E402
    Document,
    NodeRelationship,
    NodeWithScore,
    QueryBundle,
    RelatedNodeInfo,
    TextNode,
)

from ragkit.access import Scope, Who  # noqa: E402
from ragkit.integrations.provenance import document_metadata, hit_metadata, load_documents, open_kit, reader  # noqa: E402

if TYPE_CHECKING:
    from ragkit.kit import Kit

# provenance the LLM and the embedder need not read (the chunk text is what matters)
_HIDDEN = ["doc_id", "chunk_id", "span", "score", "scores", "heading_path", "table_id", "image_path", "kind"]


class RagkitRetriever(BaseRetriever):
    """ragkit's hybrid search as a LlamaIndex retriever: ``RagkitRetriever(kit, k=4, principal="hr")``.
    ``principal`` is required: ``""`` reads public documents only, ``"hr"`` or ``["hr", "legal"]`` what
    those labels read, ``"*"`` everything (the store's owner) (docs/access.md)."""

    def __init__(
        self,
        kit: Kit | None = None,
        *,
        path: str | Path | None = None,
        k: int = 4,
        mode: str | None = None,
        where: dict[str, Any] | None = None,
        principal: Who = None,
        **kwargs: Any,
    ):
        who = reader(principal, type(self).__name__)  # before the store opens: fails closed
        self.scope = Scope.of(where, who)  # AccessError for a reserved '@' key, now rather than per query
        super().__init__(**kwargs)
        self.kit = open_kit(kit, path)
        self.k = k
        self.mode = mode
        self.principal = who
        self.where = where

    def _nodes(self, query: str) -> list[NodeWithScore]:
        out = []
        for hit in self.kit.search(query, k=self.k, mode=self.mode, where=self.scope):
            c = hit.chunk
            node = TextNode(
                id_=c.chunk_id,
                text=c.text,
                metadata=hit_metadata(hit),
                start_char_idx=int(c.span[0]),
                end_char_idx=int(c.span[1]),
                excluded_llm_metadata_keys=list(_HIDDEN),
                excluded_embed_metadata_keys=list(_HIDDEN),
            )
            node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=c.doc_id)
            out.append(NodeWithScore(node=node, score=float(hit.score)))
        return out

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self._nodes(query_bundle.query_str)

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._nodes, query_bundle.query_str)


class RagkitReader(BaseReader):
    """Files and folders parsed by ragkit's connectors, one LlamaIndex Document per file."""

    def __init__(
        self, include: Sequence[str] | None = None, exclude: Sequence[str] | None = None, skip_errors: bool = False
    ):
        self.include = include
        self.exclude = exclude
        self.skip_errors = skip_errors

    def lazy_load_data(self, path: str | Path | Sequence[str | Path], **_: Any) -> Iterable[Document]:
        for doc in load_documents(path, self.include, self.exclude, self.skip_errors):
            yield Document(id_=doc.doc_id, text=doc.text, metadata=document_metadata(doc))

    def load_data(self, path: str | Path | Sequence[str | Path], **kwargs: Any) -> list[Document]:
        return list(self.lazy_load_data(path, **kwargs))


__all__ = ["RagkitReader", "RagkitRetriever"]
