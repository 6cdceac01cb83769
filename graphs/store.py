"""The graph's rows in the store manifest: written and deleted inside the manifest's own transaction.

The manifest is the source of truth for the graph as for chunks: every node, edge, mention and alias
row carries the ``doc_id`` (and the ``chunk_id``) it comes from, so replacing or deleting a document
removes exactly its provenance. An entity exists while at least one mention supports it; an edge row is
one piece of evidence, so an edge supported by two documents survives the deletion of one. Merges
(``graph_merges``) are global, reversible decisions, not provenance. Any in-memory graph is derived
from these rows (``graphs.traverse.GraphIndex``) and rebuilt when the store's generation changes.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from graphs.model import Extraction, Mention

GRAPH_SCHEMA = """
CREATE TABLE IF NOT EXISTS graph_nodes (
    node_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, attrs TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS graph_nodes_doc ON graph_nodes(doc_id);
CREATE TABLE IF NOT EXISTS graph_edges (
    src TEXT NOT NULL, dst TEXT NOT NULL, kind TEXT NOT NULL, predicate TEXT NOT NULL, chunk_id TEXT, doc_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS graph_edges_doc ON graph_edges(doc_id);
CREATE TABLE IF NOT EXISTS graph_entities (entity_id TEXT PRIMARY KEY, name TEXT NOT NULL, label TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS graph_mentions (
    chunk_id TEXT NOT NULL, entity_id TEXT NOT NULL, doc_id TEXT NOT NULL, surface TEXT NOT NULL, label TEXT NOT NULL,
    weight REAL NOT NULL, PRIMARY KEY (chunk_id, entity_id));
CREATE INDEX IF NOT EXISTS graph_mentions_doc ON graph_mentions(doc_id);
CREATE INDEX IF NOT EXISTS graph_mentions_entity ON graph_mentions(entity_id);
CREATE TABLE IF NOT EXISTS graph_aliases (
    alias_id TEXT NOT NULL, entity_id TEXT NOT NULL, chunk_id TEXT NOT NULL, doc_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS graph_aliases_doc ON graph_aliases(doc_id);
CREATE TABLE IF NOT EXISTS graph_merges (
    alias_id TEXT PRIMARY KEY, canonical_id TEXT NOT NULL, score REAL NOT NULL, method TEXT NOT NULL, at REAL NOT NULL);
"""

GRAPH_TABLES = ("graph_nodes", "graph_edges", "graph_entities", "graph_mentions", "graph_aliases", "graph_merges")


def ensure_schema(db: sqlite3.Connection) -> None:
    db.executescript(GRAPH_SCHEMA)


def delete_document_graph(db: sqlite3.Connection, doc_id: str) -> None:
    """Remove every graph row that ``doc_id`` supports; entities left without a mention disappear."""
    entities = [r[0] for r in db.execute("SELECT DISTINCT entity_id FROM graph_mentions WHERE doc_id=?", (doc_id,))]
    db.execute("DELETE FROM graph_mentions WHERE doc_id=?", (doc_id,))
    db.execute("DELETE FROM graph_edges WHERE doc_id=?", (doc_id,))
    db.execute("DELETE FROM graph_nodes WHERE doc_id=?", (doc_id,))
    db.execute("DELETE FROM graph_aliases WHERE doc_id=?", (doc_id,))
    db.executemany(
        "DELETE FROM graph_entities WHERE entity_id=? AND NOT EXISTS (SELECT 1 FROM graph_mentions WHERE entity_id=?)",
        [(e, e) for e in entities],
    )


def write_document_graph(db: sqlite3.Connection, doc_id: str, extraction: Extraction | None) -> None:
    """Write one document's extraction (call after :func:`delete_document_graph`, same transaction)."""
    if extraction is None:
        return
    db.executemany(
        "INSERT OR REPLACE INTO graph_nodes VALUES (?,?,?,?,?)",
        [(n.node_id, doc_id, n.kind, n.name, json.dumps(n.attrs, default=str)) for n in extraction.nodes],
    )
    db.executemany(
        "INSERT INTO graph_edges VALUES (?,?,?,?,?,?)",
        [(e.src, e.dst, e.kind, e.predicate, e.chunk_id, doc_id) for e in extraction.edges],
    )
    mentions: dict[tuple[str, str], Mention] = {}  # one row per (chunk, entity): its heaviest mention
    for m in extraction.mentions:
        best = mentions.get((m.chunk_id, m.key))
        if best is None or m.weight > best.weight:
            mentions[(m.chunk_id, m.key)] = m
    db.executemany("INSERT INTO graph_mentions VALUES (?,?,?,?,?,?)",
                   [(m.chunk_id, m.key, doc_id, m.surface, m.label, m.weight) for m in mentions.values()])
    names = extraction.entity_names
    db.executemany(
        "INSERT OR IGNORE INTO graph_entities VALUES (?,?,?)",
        [(key, *names.get(key, (key, "ENTITY"))) for key in {k for _, k in mentions}],
    )
    db.executemany("INSERT INTO graph_aliases VALUES (?,?,?,?)", [(a, e, c, doc_id) for a, e, c in extraction.aliases])


def graph_counts(db: sqlite3.Connection) -> dict[str, Any]:
    counts: dict[str, Any] = {}
    for kind, n in db.execute("SELECT kind, COUNT(*) FROM graph_nodes GROUP BY kind"):
        counts[f"{kind}_nodes"] = n
    counts["entities"] = db.execute("SELECT COUNT(*) FROM graph_entities").fetchone()[0]
    counts["mentions"] = db.execute("SELECT COUNT(*) FROM graph_mentions").fetchone()[0]
    counts["edges"] = dict(db.execute("SELECT kind, COUNT(*) FROM graph_edges GROUP BY kind").fetchall())
    counts["edges"]["mentions"] = counts["mentions"]
    counts["merges"] = db.execute("SELECT COUNT(*) FROM graph_merges").fetchone()[0]
    return counts


def check_consistency(db: sqlite3.Connection) -> list[str]:
    """Problems of the committed graph against the committed documents and chunks ([] when exact):
    every row's provenance is a committed chunk of its document, every document has its node, every
    entity has a supporting mention and every mention an entity."""
    problems = []
    queries = {
        "graph rows of documents not in the manifest": """
            SELECT doc_id FROM graph_nodes WHERE doc_id NOT IN (SELECT doc_id FROM documents)
            UNION SELECT doc_id FROM graph_edges WHERE doc_id NOT IN (SELECT doc_id FROM documents)
            UNION SELECT doc_id FROM graph_mentions WHERE doc_id NOT IN (SELECT doc_id FROM documents)
            UNION SELECT doc_id FROM graph_aliases WHERE doc_id NOT IN (SELECT doc_id FROM documents)""",
        "mentions whose chunk is not a committed chunk of their document": """
            SELECT m.chunk_id FROM graph_mentions m LEFT JOIN chunks c ON c.chunk_id = m.chunk_id
            WHERE c.chunk_id IS NULL OR c.doc_id != m.doc_id""",
        "edges whose chunk is not a committed chunk of their document": """
            SELECT e.chunk_id FROM graph_edges e LEFT JOIN chunks c ON c.chunk_id = e.chunk_id
            WHERE e.chunk_id IS NOT NULL AND (c.chunk_id IS NULL OR c.doc_id != e.doc_id)""",
        "entities without a supporting mention": """
            SELECT entity_id FROM graph_entities WHERE entity_id NOT IN (SELECT entity_id FROM graph_mentions)""",
        "mentions of unknown entities": """
            SELECT entity_id FROM graph_mentions WHERE entity_id NOT IN (SELECT entity_id FROM graph_entities)""",
    }
    for what, sql in queries.items():
        rows = db.execute(sql).fetchall()
        if rows:
            problems.append(f"{len(rows)} {what} (e.g. {rows[0][0]!r})")
    graphed = {r[0] for r in db.execute("SELECT doc_id FROM graph_nodes WHERE kind='document'")}
    docs_with_chunks = {r[0] for r in db.execute("SELECT DISTINCT doc_id FROM chunks")}
    if graphed and docs_with_chunks - graphed:
        problems.append(f"{len(docs_with_chunks - graphed)} documents without a graph node")
    return problems


def merges(db: sqlite3.Connection) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in db.execute("SELECT alias_id, canonical_id FROM graph_merges")]


def delete_documents_graph(db: sqlite3.Connection, doc_ids: Sequence[str]) -> None:
    for doc_id in doc_ids:
        delete_document_graph(db, doc_id)


def chunk_mentions(db: sqlite3.Connection, chunk_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """Each chunk's entity mentions as (surface, label), for the chunks in ``chunk_ids``."""
    out: dict[str, list[tuple[str, str]]] = {}
    ids = list(dict.fromkeys(chunk_ids))
    for i in range(0, len(ids), 500):
        page = ids[i:i + 500]
        marks = ",".join("?" * len(page))
        for chunk_id, surface, label in db.execute(
            f"SELECT chunk_id, surface, label FROM graph_mentions WHERE chunk_id IN ({marks})", page
        ):
            out.setdefault(chunk_id, []).append((surface, label))
    return out
