"""The part of a graph that a set of readable chunks supports (document access labels, ``ragkit.access``).

A node, edge, entity, alias or relation stays only when a readable chunk (or a readable document, for
structure) is its provenance, so a walk, a neighbourhood, a path, an export or an explanation built
on the view never touches — or names — anything that exists only in a forbidden document.
"""
from __future__ import annotations

import copy
import sqlite3
from collections import defaultdict
from collections.abc import Collection
from typing import Any

import numpy as np

from graphs.traverse import GraphIndex, structure_rows


def restrict(index: GraphIndex, readable: Collection[str], db: sqlite3.Connection) -> GraphIndex:
    """A GraphIndex of the same generation holding only what the chunk ids ``readable`` support."""
    import scipy.sparse as sp

    readable = frozenset(readable)
    view = copy.copy(index)  # shares nothing mutable below: every field that differs is rebuilt
    rows = [i for i, cid in enumerate(index.chunk_ids) if cid in readable]
    view.chunk_ids = [index.chunk_ids[i] for i in rows]
    view.chunk_row = {c: i for i, c in enumerate(view.chunk_ids)}
    view.chunk_doc = {c: index.chunk_doc[c] for c in view.chunk_ids}
    docs = set(view.chunk_doc.values())

    # entities: those a readable chunk mentions. An entity that readable chunks reach only through a
    # merge (its canonical name is written in forbidden documents alone) takes the name of a visible alias.
    raw_keys = _readable_keys(db, readable)
    mentions = index.mentions[rows, :] if rows else sp.csr_matrix((0, len(index.entity_ids)))
    df = np.asarray((mentions > 0).sum(axis=0)).ravel()
    cols = [c for c in range(len(index.entity_ids)) if df[c] > 0]
    rename: dict[str, str] = {}
    for c in cols:
        e = index.entity_ids[c]
        if e not in raw_keys:
            seen = sorted(a for a, k in index.merges.items() if k == e and a in raw_keys)
            if seen:
                rename[e] = seen[0]
    raw_names = _names(db, set(rename.values()))
    view.entity_ids = [rename.get(index.entity_ids[c], index.entity_ids[c]) for c in cols]
    view.entity_col = {e: i for i, e in enumerate(view.entity_ids)}
    view.names, view.labels = {}, {}
    for c, e in zip(cols, view.entity_ids):
        old = index.entity_ids[c]
        view.names[e], view.labels[e] = raw_names[e] if old in rename else (index.names[old], index.labels[old])
    view.mentions = sp.csr_matrix(mentions[:, cols]) if cols else sp.csr_matrix((len(rows), 0))
    view.df = np.asarray((view.mentions > 0).sum(axis=0)).ravel()
    view.titled = index.titled[cols] if cols else np.zeros(0, dtype=bool)
    old_to_new = {c: i for i, c in enumerate(cols)}
    view.own_title = defaultdict(set)
    for new_row, old_row in enumerate(rows):
        titles = {old_to_new[c] for c in index.own_title.get(old_row, ()) if c in old_to_new}
        if titles:
            view.own_title[new_row] = titles
    view.surfaces = defaultdict(set)

    # aliases and merges: only those whose surface a readable chunk carries
    view.merges = {a: rename.get(c, c) for a, c in index.merges.items()
                   if a in raw_keys and rename.get(c, c) in view.entity_col and a != rename.get(c, c)}
    extracted = _readable_aliases(db, readable)
    view.aliases = {a: rename.get(k, k) for a, k in index.aliases.items()
                    if rename.get(k, k) in view.entity_col and (a in extracted or a in view.merges)}

    # relations: the ones a readable chunk states
    view.relations = []
    for a, b, predicate, chunk_id in index.relations:
        a, b = rename.get(a, a), rename.get(b, b)
        if chunk_id in readable and a in view.entity_col and b in view.entity_col:
            view.relations.append((a, b, predicate, chunk_id))
    n = len(view.entity_ids)
    rel_r = [view.entity_col[a] for a, b, _, _ in view.relations] + [view.entity_col[b] for a, b, _, _ in view.relations]
    rel_c = [view.entity_col[b] for a, b, _, _ in view.relations] + [view.entity_col[a] for a, b, _, _ in view.relations]
    view.relation_matrix = sp.csr_matrix((np.ones(len(rel_r)), (rel_r, rel_c)), shape=(n, n), dtype=np.float64)
    view.words = defaultdict(list)
    for i, e in enumerate(view.entity_ids):
        for w in set(e.split()):
            view.words[w].append(i)

    # structure: nodes of readable documents; edges whose two ends and provenance are readable
    nodes = {k: v for k, v in index.nodes.items() if v.get("doc_id") in docs}
    hidden = set(index.nodes) - set(nodes)
    edges = []
    for src, dst, kind, predicate, chunk_id, doc_id in index._db_rows["edges"]:
        if doc_id not in docs or (chunk_id and chunk_id not in readable) or src in hidden or dst in hidden:
            continue
        if src.startswith("chunk:") and src[6:] not in readable or dst.startswith("chunk:") and dst[6:] not in readable:
            continue
        edges.append((src, dst, kind, predicate, chunk_id, doc_id))
    view._db_rows = structure_rows(nodes, edges)
    view._nx = None
    view._adjacency = None
    view._walk = None
    return view


def _readable_keys(db: sqlite3.Connection, readable: frozenset[str]) -> set[str]:
    """Entity keys as extracted (before merges) that a readable chunk mentions."""
    return {key for chunk_id, key in db.execute("SELECT chunk_id, entity_id FROM graph_mentions") if chunk_id in readable}


def _names(db: sqlite3.Connection, keys: set[str]) -> dict[str, tuple[str, str]]:
    """(name, label) of extracted entity keys."""
    out = {}
    for key, name, label in db.execute("SELECT entity_id, name, label FROM graph_entities"):
        if key in keys:
            out[key] = (name, label)
    return {k: out.get(k, (k, "ENTITY")) for k in keys}


def _readable_aliases(db: sqlite3.Connection, readable: frozenset[str]) -> set[str]:
    return {alias for alias, chunk_id in db.execute("SELECT alias_id, chunk_id FROM graph_aliases") if chunk_id in readable}


def counts(view: GraphIndex) -> dict[str, Any]:
    """``graph stats`` counts of a view (the same keys as ``graphs.store.graph_counts``)."""
    out: dict[str, Any] = {}
    for attrs in view.nodes.values():
        key = f"{attrs['kind']}_nodes"
        out[key] = out.get(key, 0) + 1
    out["entities"] = len(view.entity_ids)
    out["mentions"] = int(view.mentions.nnz)
    edges: dict[str, int] = {}
    for _, _, kind, _, _, _ in view._db_rows["edges"]:
        edges[kind] = edges.get(kind, 0) + 1
    if view.relations:
        edges["relation"] = len(view.relations)
    edges["mentions"] = out["mentions"]
    out["edges"] = edges
    out["merges"] = len(view.merges)
    return out
