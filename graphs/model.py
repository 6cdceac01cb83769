"""The graph's vocabulary: node kinds, edge kinds and stable node ids.

Nodes: documents, sections (a heading path), chunks, tables, table rows, pages and entities.
Edges: ``contains`` (structure), ``next`` (reading order), ``mentions`` (chunk -> entity),
``relation`` (entity -> entity, with a predicate), ``links`` (hyperlinks and cross-references).
Every edge and every entity mention records the chunk that supports it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NODE_KINDS = ("document", "section", "chunk", "table", "row", "page", "entity")
EDGE_KINDS = ("contains", "next", "mentions", "relation", "links")


def doc_node(doc_id: str) -> str:
    return f"doc:{doc_id}"


def section_node(doc_id: str, heading_path: list[str] | tuple[str, ...]) -> str:
    return f"sec:{doc_id}#{' > '.join(heading_path)}"


def chunk_node(chunk_id: str) -> str:
    return f"chunk:{chunk_id}"


def table_node(doc_id: str, table_id: str) -> str:
    return f"table:{doc_id}#{table_id}"


def row_node(doc_id: str, table_id: str, row: int) -> str:
    return f"row:{doc_id}#{table_id}#{row}"


def page_node(doc_id: str, page: int) -> str:
    return f"page:{doc_id}#{page}"


def entity_node(key: str) -> str:
    return f"ent:{key}"


def node_kind(node_id: str) -> str:
    prefix = node_id.split(":", 1)[0]
    return {"doc": "document", "sec": "section", "ent": "entity"}.get(prefix, prefix)


@dataclass
class Node:
    """A structural node of one document (documents, sections, tables, rows, pages)."""

    node_id: str
    kind: str
    name: str
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Edge:
    """An edge with its provenance: ``chunk_id`` is the chunk that supports it (None only for a
    structural edge of a document without chunks)."""

    src: str
    dst: str
    kind: str
    chunk_id: str | None = None
    predicate: str = ""


@dataclass
class Mention:
    """Chunk ``chunk_id`` mentions entity ``key`` as ``surface`` (label: PERSON, ORG, TITLE, ...)."""

    chunk_id: str
    key: str
    surface: str
    label: str
    weight: float = 1.0


@dataclass
class Extraction:
    """Everything the graph takes from one document, computed before the manifest transaction."""

    doc_id: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    aliases: list[tuple[str, str, str]] = field(default_factory=list)  # (alias key, entity key, chunk id)
    entity_names: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (display name, label)
