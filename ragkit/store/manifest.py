"""The manifest's SQLite schema and the codecs between its rows and ragkit's dataclasses."""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ragkit.types import Block, Chunk, Table

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, root TEXT, format TEXT, content_hash TEXT NOT NULL,
    text TEXT NOT NULL, blocks TEXT NOT NULL, metadata TEXT NOT NULL, labels TEXT NOT NULL,
    chunks INTEGER NOT NULL, indexed_at REAL NOT NULL, given_labels TEXT NOT NULL DEFAULT '[]',
    given_meta TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS documents_root ON documents(root);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, ordinal INTEGER NOT NULL, text TEXT NOT NULL,
    text_hash TEXT NOT NULL, kind TEXT NOT NULL, page INTEGER, heading_path TEXT NOT NULL,
    span_start INTEGER NOT NULL, span_end INTEGER NOT NULL, bbox TEXT, table_id TEXT,
    row_start INTEGER, row_end INTEGER, image_path TEXT, metadata TEXT NOT NULL, labels TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS embeddings (text_hash TEXT PRIMARY KEY, vector BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS failures (path TEXT PRIMARY KEY, root TEXT, error TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS pending_deletes (chunk_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS counts (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""

# tables whose row count is kept in ``counts`` by triggers: SQLite's COUNT(*) walks an index (23 ms at 1M
# chunks), and the check before every write needs the count. Triggers keep it exact in every write's own
# transaction; REPLACE fires the delete trigger only with recursive_triggers on, which the store sets.
COUNTED = ("documents", "chunks")

# columns added after a store format shipped: (table, column, definition), added on open when missing
MIGRATIONS = (
    ("documents", "given_labels", "TEXT NOT NULL DEFAULT '[]'"),  # labels passed to `index --label`
    ("documents", "given_meta", "TEXT NOT NULL DEFAULT '{}'"),  # metadata passed to `index --meta`
)


def migrate(db: Any) -> None:
    """Add the columns of :data:`MIGRATIONS` that an older store lacks (its documents stay public), and
    the row counters of :data:`COUNTED` (counted once, in the transaction that adds their triggers)."""
    for table, column, definition in MIGRATIONS:
        have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
    if len(COUNTED) == db.execute("SELECT COUNT(*) FROM counts").fetchone()[0]:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        for table in COUNTED:
            if db.execute("SELECT 1 FROM counts WHERE name=?", (table,)).fetchone():
                continue
            db.execute(
                f"CREATE TRIGGER IF NOT EXISTS count_{table}_insert AFTER INSERT ON {table} "
                f"BEGIN UPDATE counts SET n = n + 1 WHERE name = '{table}'; END"
            )
            db.execute(
                f"CREATE TRIGGER IF NOT EXISTS count_{table}_delete AFTER DELETE ON {table} "
                f"BEGIN UPDATE counts SET n = n - 1 WHERE name = '{table}'; END"
            )
            db.execute(f"INSERT INTO counts (name, n) SELECT '{table}', COUNT(*) FROM {table}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


CHUNK_COLUMNS = ", ".join(
    f"c.{name}"
    for name in (
        "chunk_id doc_id ordinal text kind page heading_path span_start span_end bbox table_id "
        "row_start row_end image_path metadata labels text_hash"
    ).split()
)
# every chunk query joins its document for the source and content hash
CHUNK_SELECT = f"SELECT {CHUNK_COLUMNS}, d.source, d.content_hash FROM chunks c JOIN documents d USING(doc_id)"


def chunk_to_row(c: Chunk, text_hash: str) -> tuple[Any, ...]:
    return (
        c.chunk_id, c.doc_id, c.ordinal, c.text, text_hash, c.kind, c.page, json.dumps(c.heading_path),
        c.span[0], c.span[1], json.dumps(c.bbox) if c.bbox else None, c.table_id,
        c.row_range[0] if c.row_range else None, c.row_range[1] if c.row_range else None, c.image_path,
        json.dumps(c.metadata, default=str), json.dumps(c.labels),
    )


def row_to_chunk(r: Sequence[Any]) -> Chunk:
    (chunk_id, doc_id, ordinal, text, kind, page, heading_path, s, e, bbox, table_id, r0, r1, image_path,
     metadata, labels, _text_hash, source, content_hash) = r
    return Chunk(
        chunk_id=chunk_id, doc_id=doc_id, source=source, text=text, ordinal=ordinal, span=(s, e), kind=kind,
        page=page, heading_path=json.loads(heading_path), bbox=tuple(json.loads(bbox)) if bbox else None,
        table_id=table_id, row_range=(r0, r1) if r0 is not None else None, image_path=image_path,
        content_hash=content_hash, metadata=json.loads(metadata), labels=json.loads(labels),
    )


def blocks_to_json(blocks: Sequence[Block]) -> str:
    out = []
    for b in blocks:
        item = {"kind": b.kind, "start": b.start, "end": b.end, "page": b.page, "heading_path": b.heading_path,
                "bbox": b.bbox, "image_path": b.image_path}
        if b.table is not None:
            item["table"] = b.table.to_dict()
        out.append(item)
    return json.dumps(out)


def blocks_from_json(data: str) -> list[Block]:
    blocks = []
    for item in json.loads(data):
        table = item.pop("table", None)
        if item.get("bbox"):
            item["bbox"] = tuple(item["bbox"])
        block = Block(**item)
        if table:
            if table.get("bbox"):
                table["bbox"] = tuple(table["bbox"])
            block.table = Table(**table)
        blocks.append(block)
    return blocks
