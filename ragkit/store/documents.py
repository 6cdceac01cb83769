"""Reads of committed documents and chunks from the manifest (``db``: a connection or a pinned
snapshot), each one query or a few keyset pages."""
from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ragkit.access import visible_sql
from ragkit.store.manifest import CHUNK_SELECT, blocks_from_json, row_to_chunk
from ragkit.types import Chunk, Document

PAGE = 900  # ids per ``IN (...)`` query (below SQLite's limit of host parameters)


def count(db: sqlite3.Connection, table: str) -> int:
    """How many rows ``table`` holds (O(1): a trigger-kept counter)."""
    return int(db.execute("SELECT n FROM counts WHERE name=?", (table,)).fetchone()[0])


def all_chunk_ids(db: sqlite3.Connection) -> list[str]:
    return [r[0] for r in db.execute("SELECT chunk_id FROM chunks ORDER BY rowid")]


def _pages(db: sqlite3.Connection, ids: Sequence[str]) -> Iterator[sqlite3.Cursor]:
    """One cursor over the committed chunk rows of each page of ``ids``."""
    ids = list(ids)
    for i in range(0, len(ids), PAGE):
        part = ids[i : i + PAGE]
        yield db.execute(f"{CHUNK_SELECT} WHERE c.chunk_id IN ({','.join('?' * len(part))})", part)


def chunk_rows(db: sqlite3.Connection, ids: Sequence[str]) -> Iterator[tuple[Sequence[Any], Chunk]]:
    """(row, chunk) of each committed chunk among ``ids``, a page of ids per query, in no set order."""
    for cursor in _pages(db, ids):
        for row in cursor:
            yield row, row_to_chunk(row)


def chunks(db: sqlite3.Connection, ids: Sequence[str]) -> list[Chunk]:
    """Committed chunks in the order of ``ids``; unknown ids are skipped. (On every query's path: no
    per-row generator.)"""
    ids = list(ids)
    found = {chunk.chunk_id: chunk for cursor in _pages(db, ids) for chunk in map(row_to_chunk, cursor)}
    return [found[i] for i in ids if i in found]


def doc_chunks(db: sqlite3.Connection, doc_id: str) -> list[Chunk]:
    sql = f"{CHUNK_SELECT} WHERE c.doc_id=? ORDER BY c.ordinal"
    return [row_to_chunk(r) for r in db.execute(sql, (doc_id,))]


def iter_chunk_texts(db: sqlite3.Connection) -> Iterator[tuple[str, str]]:
    yield from db.execute("SELECT chunk_id, text FROM chunks ORDER BY rowid")


def all_chunk_texts(db: sqlite3.Connection) -> tuple[list[str], list[str]]:
    """(ids, texts) of every committed chunk, in the order of :func:`iter_chunk_texts`."""
    ids, texts = [], []
    for cid, text in iter_chunk_texts(db):
        ids.append(cid)
        texts.append(text)
    return ids, texts


def document_text(db: sqlite3.Connection, path: Path, doc_id: str) -> str:
    row = db.execute("SELECT text FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
    if row is None:
        raise KeyError(f"no document {doc_id!r} in {path}")
    text: str = row[0]
    return text


def document(db: sqlite3.Connection, path: Path, doc_id: str) -> Document:
    row = db.execute(
        "SELECT doc_id, source, text, content_hash, format, blocks, metadata, labels FROM documents WHERE doc_id=?",
        (doc_id,),
    ).fetchone()
    if row is None:
        raise KeyError(f"no document {doc_id!r} in {path}")
    return Document(
        doc_id=row[0], source=row[1], text=row[2], content_hash=row[3], format=row[4],
        blocks=blocks_from_json(row[5]), metadata=json.loads(row[6]), labels=json.loads(row[7]),
    )


def documents(
    db: sqlite3.Connection, visible: str | None = None, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    """Stored documents in source order: those the access key ``visible`` reads (None: all), at most
    ``limit`` (None: all) from ``offset`` on."""
    cond, labels = visible_sql(visible, "labels") if visible is not None else ("1", [])
    sql = ("SELECT doc_id, source, root, format, content_hash, chunks, metadata, labels FROM documents"
           f" WHERE {cond} ORDER BY source, doc_id LIMIT ? OFFSET ?")
    params: list[str | int] = [*labels, -1 if limit is None else int(limit), int(offset)]
    rows = db.execute(sql, params)
    return [
        {"doc_id": r[0], "source": r[1], "root": r[2], "format": r[3], "content_hash": r[4], "chunks": r[5],
         "metadata": json.loads(r[6]), "labels": json.loads(r[7])}
        for r in rows
    ]


def iter_doc_keys(db: Callable[[], sqlite3.Connection], page: int) -> Iterator[list[tuple[str, str | None]]]:
    """Every stored document's (doc_id, root), ``page`` at a time in doc_id order: keyset paging on
    the primary key, so a walk over a big store holds one page, never the whole list. ``db()`` gives
    the connection of each page (a store's follows the reading thread's snapshot)."""
    rows = db().execute("SELECT doc_id, root FROM documents ORDER BY doc_id LIMIT ?", (page,)).fetchall()
    while rows:
        yield [(r[0], r[1]) for r in rows]
        rows = db().execute(
            "SELECT doc_id, root FROM documents WHERE doc_id > ? ORDER BY doc_id LIMIT ?", (rows[-1][0], page)
        ).fetchall()


def doc_metadata(db: sqlite3.Connection, doc_id: str) -> dict[str, Any]:
    """One stored document's metadata ({} when it is not stored)."""
    row = db.execute("SELECT metadata FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
    meta: dict[str, Any] = json.loads(row[0]) if row else {}
    return meta


def doc_ids_under(db: sqlite3.Connection, root: str | Path) -> list[str]:
    """The stored document ids at ``root`` or below it (in storage order): two lookups in the
    primary key's index, so a 1-file ``index`` does not read every document id of a big store."""
    exact = str(root)
    prefix = exact.rstrip(os.sep) + os.sep
    upper = prefix[:-1] + chr(ord(os.sep) + 1)  # the first string after every one starting with prefix
    rows = db.execute(
        "SELECT rowid, doc_id FROM documents WHERE doc_id = ? UNION "
        "SELECT rowid, doc_id FROM documents WHERE doc_id >= ? AND doc_id < ? ORDER BY 1",
        (exact, prefix, upper),
    )
    return [doc_id for _, doc_id in rows]


def doc_given_meta(db: sqlite3.Connection, doc_id: str) -> dict[str, Any]:
    """The metadata given to ``index --meta`` for one stored document ({} when none or not stored)."""
    row = db.execute("SELECT given_meta FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
    meta: dict[str, Any] = json.loads(row[0]) if row else {}
    return meta


def doc_state(db: sqlite3.Connection, doc_id: str) -> tuple[str, list[str], list[str]] | None:
    """(content hash, labels, labels given to ``index --label``) of one stored document, or None."""
    row = db.execute("SELECT content_hash, labels, given_labels FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
    return None if row is None else (row[0], json.loads(row[1]), json.loads(row[2]))


def failures(db: sqlite3.Connection) -> list[dict[str, str]]:
    return [{"path": r[0], "error": r[1]} for r in db.execute("SELECT path, error FROM failures ORDER BY path")]
