"""A :class:`ragkit.access.Scope` as SQL over the manifest: the chunk ids a scope sees."""
from __future__ import annotations

import sqlite3

from ragkit.access import Scope, visible_sql


def scope_sql(scope: Scope) -> tuple[str, list[str | int]]:
    """The query (and its parameters) of the chunk ids that ``scope`` sees."""
    clauses: list[str] = []
    params: list[str | int] = []
    if scope.principal is not None:
        sql, args = visible_sql(scope.principal.key())
        clauses.append(sql)
        params += args
    for key, value in scope.filters:
        if key == "source_prefix":
            clauses.append("substr(d.source, 1, ?) = ?")
            params += [len(str(value)), str(value)]
        elif key in ("doc_id", "source"):
            clauses.append(f"d.{key} = ?")
            params.append(str(value))
        elif key == "format":
            clauses.append("d.format = ?")
            params.append(str(value))
        elif key == "kind":
            clauses.append("c.kind = ?")
            params.append(str(value))
        else:
            clauses.append("CAST(json_extract(d.metadata, ?) AS TEXT) = ?")
            params += [f'$."{key}"', str(value)]
    sql = "SELECT c.chunk_id FROM chunks c JOIN documents d USING(doc_id)"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    return sql, params


def filter_ids(db: sqlite3.Connection, scope: Scope) -> set[str]:
    """Chunk ids the scope sees: every filter (source_prefix, doc_id, format, kind, or user metadata)
    holds and the principal may read the document (public or sharing a label)."""
    sql, params = scope_sql(scope)
    return {r[0] for r in db.execute(sql, params)}
