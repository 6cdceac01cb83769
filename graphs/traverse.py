"""The derived, in-memory graph: loaded from the manifest rows, cached per store generation.

Two views of the same rows:
- sparse matrices of the entity-chunk graph (mentions, relations) for personalized PageRank;
- a networkx ``MultiDiGraph`` of every node and edge (structure, links, mentions, relations) for
  neighbourhoods, paths and export, built on first use.
"""
from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

import numpy as np

from graphs.model import chunk_node, entity_node, node_kind
from graphs.resolve import canonical_map, normalize

_WORD = re.compile(r"[\w][\w'\-.&]*")
STOP = set(
    "a an the of in on at to for from by with and or is are was were be been being what which who whom whose when "
    "where why how does do did has have had that this these those it its as than then into about between both either "
    "same also one two first second many much more most other another any all some no not there their they he she "
    "his her him i you we our your me my can could would should will shall may might must s".split()
)


# a scipy.sparse matrix (or, for personalized_pagerank, a dense ndarray): scipy ships no type stubs, so
# mypy sees its classes as Any (``ignore_missing_imports``)
Matrix = Any
# a structural edge row of graph_edges: (src, dst, kind, predicate, chunk_id, doc_id)
EdgeRow = tuple[str, str, str, str, "str | None", str]
# one end of a structural edge, seen from the other: (node, kind, chunk_id, predicate)
Link = tuple[str, str, "str | None", str]


class Structure(TypedDict):
    """The structural part of a graph index (``structure_rows``)."""

    nodes: dict[str, dict[str, Any]]  # node id -> {kind, name, doc_id, **the node's attrs}
    edges: list[EdgeRow]
    children: dict[str, list[Link]]
    parents: dict[str, list[Link]]


RELATION_WEIGHT = 0.0  # relation edges in the PPR walk: 0, 0.25, 1 gave R@5 .9075, .9025, .900 on HotpotQA raw-200


def personalized_pagerank(
    adjacency: Matrix, seeds: np.ndarray, damping: float = 0.5, iterations: int = 50, tol: float = 1e-6,
    walk: Matrix = None,
) -> np.ndarray:
    """PPR on an undirected weighted graph (scipy sparse or dense symmetric ``adjacency``): the
    stationary distribution of a walk that follows an edge (in proportion to its weight) with
    probability ``damping`` and jumps back to the seed distribution otherwise. Dangling nodes jump to
    the seeds. ``walk``: ``transition_matrix(adjacency)``, precomputed (a graph reused for many queries)."""
    seeds = np.asarray(seeds, dtype=np.float64)
    total = seeds.sum()
    if total <= 0:
        return np.zeros_like(seeds)
    s: np.ndarray = seeds / total
    if walk is None:
        walk = transition_matrix(adjacency)
    dangling = np.asarray(adjacency.sum(axis=1)).ravel() == 0
    r = s.copy()
    for _ in range(iterations):
        new: np.ndarray = (1 - damping) * s + damping * (np.asarray(walk @ r).ravel() + r[dangling].sum() * s)
        if np.abs(new - r).sum() < tol:
            return new
        r = new
    return r


def transition_matrix(adjacency: Matrix) -> Matrix:
    """``A D^-1`` of a symmetric adjacency: one product with it spreads each node's mass over its edges."""
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    inv = np.divide(1.0, degree, out=np.zeros_like(degree, dtype=np.float64), where=degree > 0)
    if hasattr(adjacency, "multiply"):
        return adjacency.multiply(inv[None, :]).tocsr()
    return np.asarray(adjacency) * inv[None, :]


def structure_rows(nodes: dict[str, dict[str, Any]], edges: list[EdgeRow]) -> Structure:
    """The structural part of a graph index: its nodes, its (non-relation) edges
    ``(src, dst, kind, predicate, chunk_id, doc_id)``, and each node's children and parents."""
    children: dict[str, list[Link]] = defaultdict(list)
    parents: dict[str, list[Link]] = defaultdict(list)
    for src, dst, kind, predicate, chunk_id, _ in edges:
        children[src].append((dst, kind, chunk_id, predicate))
        parents[dst].append((src, kind, chunk_id, predicate))
    return {"nodes": nodes, "edges": edges, "children": children, "parents": parents}


class GraphIndex:
    """The committed graph of one store generation (read-only)."""

    FORMAT = 3  # bump when the attributes change: on-disk caches of another format are rebuilt
    relation_weight = RELATION_WEIGHT

    def __init__(self, db: sqlite3.Connection, generation: tuple[int, int] = (0, 0)):
        import scipy.sparse as sp

        self.generation = generation  # (store generation, graph_merges counter) it was built from
        self.merges = canonical_map(db.execute("SELECT alias_id, canonical_id FROM graph_merges").fetchall())
        canon = self.merges.get
        self.chunk_doc: dict[str, str] = dict(db.execute("SELECT chunk_id, doc_id FROM chunks"))
        self.chunk_ids = list(self.chunk_doc)
        self.chunk_row = {c: i for i, c in enumerate(self.chunk_ids)}
        names: dict[str, tuple[str, str]] = {}
        for key, name, label in db.execute("SELECT entity_id, name, label FROM graph_entities"):
            names[key] = (name, label)
        self.entity_ids = sorted({canon(k, k) for k in names})
        self.entity_col = {e: i for i, e in enumerate(self.entity_ids)}
        self.names = {e: names.get(e, (e, "ENTITY"))[0] for e in self.entity_ids}
        self.labels = {e: names.get(e, (e, "ENTITY"))[1] for e in self.entity_ids}
        self.surfaces: dict[str, set[str]] = defaultdict(set)
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        self.titled = np.zeros(len(self.entity_ids), dtype=bool)  # has a document or section of its own
        self.own_title: dict[int, set[int]] = defaultdict(set)  # chunk row -> its title / heading entities
        for chunk_id, key, label, weight in db.execute("SELECT chunk_id, entity_id, label, weight FROM graph_mentions"):
            key = canon(key, key)
            r, c = self.chunk_row.get(chunk_id), self.entity_col.get(key)
            if r is None or c is None:
                continue
            rows.append(r)
            cols.append(c)
            vals.append(weight)
            if label in ("TITLE", "HEADING"):
                self.titled[c] = True
                self.own_title[r].add(c)
        shape = (len(self.chunk_ids), len(self.entity_ids))
        self.mentions = sp.csr_matrix((vals, (rows, cols)), shape=shape, dtype=np.float64)
        self.mentions.sum_duplicates()
        self.df = np.asarray((self.mentions > 0).sum(axis=0)).ravel()
        # aliases recorded by extraction ("WHO" for "World Health Organization") and merges
        self.aliases: dict[str, str] = {}
        for alias, key in db.execute("SELECT alias_id, entity_id FROM graph_aliases"):
            key = canon(key, key)
            if key in self.entity_col:
                self.aliases.setdefault(alias, key)
        for alias, key in self.merges.items():
            if key in self.entity_col:
                self.aliases[alias] = key
        rel_r: list[int] = []
        rel_c: list[int] = []
        self.relations: list[tuple[str, str, str, str | None]] = []  # (entity, entity, predicate, chunk_id)
        for src, dst, predicate, chunk_id in db.execute(
            "SELECT src, dst, predicate, chunk_id FROM graph_edges WHERE kind='relation'"
        ):
            a, b = canon(src[4:], src[4:]), canon(dst[4:], dst[4:])
            ia, ib = self.entity_col.get(a), self.entity_col.get(b)
            if ia is None or ib is None or ia == ib:
                continue
            rel_r += [ia, ib]
            rel_c += [ib, ia]
            self.relations.append((a, b, predicate, chunk_id))
        n = len(self.entity_ids)
        self.relation_matrix = sp.csr_matrix((np.ones(len(rel_r)), (rel_r, rel_c)), shape=(n, n), dtype=np.float64)
        self.words: dict[str, list[int]] = defaultdict(list)
        for i, e in enumerate(self.entity_ids):
            for w in set(e.split()):
                self.words[w].append(i)
        self._db_rows = self._structure(db)
        self._nx: Any = None  # a networkx MultiDiGraph (networkx ships no type stubs)
        self._adjacency: Matrix = None
        self._walk: Matrix = None
        self.format = self.FORMAT

    # -- structure ----------------------------------------------------------------------------------

    def _structure(self, db: sqlite3.Connection) -> Structure:
        nodes = {r[0]: {"kind": r[2], "name": r[3], "doc_id": r[1], **json.loads(r[4])}
                 for r in db.execute("SELECT node_id, doc_id, kind, name, attrs FROM graph_nodes")}
        edges: list[EdgeRow] = [tuple(r) for r in db.execute(
            "SELECT src, dst, kind, predicate, chunk_id, doc_id FROM graph_edges WHERE kind != 'relation'")]
        by_name: dict[str, str] = {}
        for node_id, attrs in nodes.items():
            if attrs["kind"] == "document":
                source = str(attrs.get("source", ""))
                by_name.setdefault(source.rsplit("/", 1)[-1], node_id)
        # file-name references resolve to the document of that name when there is one
        resolved: list[EdgeRow] = []
        for src, dst, kind, predicate, chunk_id, doc_id in edges:
            if dst.startswith("file:"):
                dst = by_name.get(dst[5:], dst)
            resolved.append((src, dst, kind, predicate, chunk_id, doc_id))
        return structure_rows(nodes, resolved)

    @property
    def nodes(self) -> dict[str, dict[str, Any]]:
        return self._db_rows["nodes"]

    def children(self, node_id: str, kind: str | None = None) -> list[Link]:
        return [e for e in self._db_rows["children"].get(node_id, []) if kind is None or e[1] == kind]

    def parents(self, node_id: str, kind: str | None = None) -> list[Link]:
        return [e for e in self._db_rows["parents"].get(node_id, []) if kind is None or e[1] == kind]

    def chunks_under(self, node_id: str, limit: int = 50) -> list[str]:
        """Chunk ids contained (transitively) in a structural node, in reading order of discovery."""
        out: list[str] = []
        stack, seen = [node_id], {node_id}
        while stack and len(out) < limit:
            node = stack.pop(0)
            for dst, kind, _, _ in self.children(node, "contains"):
                if dst in seen:
                    continue
                seen.add(dst)
                if dst.startswith("chunk:"):
                    out.append(dst[6:])
                else:
                    stack.append(dst)
        return out

    # -- entities -----------------------------------------------------------------------------------

    def entity(self, name: str) -> str | None:
        """The entity a name denotes: its normalized key, an alias, or a merge."""
        key = normalize(name)
        key = self.merges.get(key, key)
        if key in self.entity_col:
            return key
        return self.aliases.get(key)

    def link(self, text: str, max_n: int = 6, max_df: float = 0.05) -> list[tuple[str, str, str]]:
        """Entities named in ``text``: (entity id, matched text, how: exact | alias), longest first,
        non-overlapping; entities in more than ``max_df`` of the chunks (or >= 50) are too generic."""
        tokens = [m.group(0).strip(".'") for m in _WORD.finditer(text)]
        limit = max(50, int(max_df * max(len(self.chunk_ids), 1)))
        used = [False] * len(tokens)
        found: list[tuple[str, str, str]] = []
        for n in range(min(max_n, len(tokens)), 0, -1):
            for i in range(len(tokens) - n + 1):
                if any(used[i : i + n]):
                    continue
                words = tokens[i : i + n]
                if any(w.lower() in STOP and not (w.isupper() and len(w) > 1) for w in (words[0], words[-1])):
                    continue  # a function word, unless an acronym ("WHO")
                if n == 1 and len(words[0]) < 3 and not (words[0].isupper() and len(words[0]) > 1):
                    continue
                surface = " ".join(words)
                key = normalize(surface)
                how = "exact"
                if key in self.merges:
                    key, how = self.merges[key], "alias"
                if key not in self.entity_col:
                    key, how = self.aliases.get(key, ""), "alias"
                if not key or key not in self.entity_col:
                    continue
                if self.df[self.entity_col[key]] > limit:
                    continue
                if n == 1 and surface.islower() and self.labels.get(key) not in ("TITLE", "HEADING", "ROW_KEY", "COLUMN"):
                    continue  # a common lower-case word that happens to name an entity
                found.append((key, surface, how))
                for j in range(i, i + n):
                    used[j] = True
        return found

    def chunk_entities(self, chunk_id: str, bridges: bool = False) -> list[tuple[str, float]]:
        """The entities a chunk mentions (with weights); ``bridges``: only those with a document or
        section of their own elsewhere (the next hop of a multi-hop question), not its own title."""
        row = self.chunk_row.get(chunk_id)
        if row is None:
            return []
        start, end = self.mentions.indptr[row], self.mentions.indptr[row + 1]
        pairs = zip(self.mentions.indices[start:end], self.mentions.data[start:end])
        if bridges:
            own = self.own_title.get(row, set())
            return [(self.entity_ids[c], float(w)) for c, w in pairs if self.titled[c] and c not in own]
        return [(self.entity_ids[c], float(w)) for c, w in pairs]

    # -- PPR ----------------------------------------------------------------------------------------

    @property
    def adjacency(self) -> Matrix:
        """The symmetric entity-chunk(-entity) adjacency: chunks first, then entities."""
        if self._adjacency is None:
            import scipy.sparse as sp

            m = self.mentions
            rel = self.relation_matrix * self.relation_weight
            self._adjacency = sp.bmat([[None, m], [m.T, rel]], format="csr")
        return self._adjacency

    def ppr(
        self,
        entity_seeds: Mapping[str, float],
        chunk_seeds: Mapping[str, float] | None = None,
        damping: float = 0.5,
        specificity: bool = True,
    ) -> np.ndarray:
        """Chunk scores of a PPR seeded on entities (weighted by node specificity 1/df, as HippoRAG)
        and optionally on chunks; returns one score per ``chunk_ids``."""
        n_c = len(self.chunk_ids)
        seeds = np.zeros(n_c + len(self.entity_ids))
        for key, weight in entity_seeds.items():
            col = self.entity_col.get(key)
            if col is not None:
                seeds[n_c + col] += weight / (max(self.df[col], 1) if specificity else 1.0)
        for cid, weight in (chunk_seeds or {}).items():
            row = self.chunk_row.get(cid)
            if row is not None:
                seeds[row] += weight
        if seeds.sum() <= 0 or n_c == 0:
            return np.zeros(n_c)
        if self._walk is None:
            self._walk = transition_matrix(self.adjacency)
        return personalized_pagerank(self.adjacency, seeds, damping, walk=self._walk)[:n_c]

    # -- networkx view ------------------------------------------------------------------------------

    @property
    def nx(self) -> Any:
        """Every node and edge as a networkx MultiDiGraph (built on first use)."""
        if self._nx is None:
            import networkx as nx

            g = nx.MultiDiGraph()
            for node_id, attrs in self.nodes.items():
                g.add_node(node_id, **{k: v for k, v in attrs.items() if isinstance(v, (str, int, float))})
            for cid, doc_id in self.chunk_doc.items():
                g.add_node(chunk_node(cid), kind="chunk", name=cid, doc_id=doc_id)
            for e in self.entity_ids:
                g.add_node(entity_node(e), kind="entity", name=self.names[e], label=self.labels[e],
                           chunks=int(self.df[self.entity_col[e]]))
            for src, dst, kind, predicate, chunk_id, _ in self._db_rows["edges"]:
                if dst not in g:
                    g.add_node(dst, kind=node_kind(dst), name=dst.split(":", 1)[-1])
                g.add_edge(src, dst, kind=kind, predicate=predicate or "", chunk=chunk_id or "")
            coo = self.mentions.tocoo()
            for r, c in zip(coo.row, coo.col):
                cid = self.chunk_ids[r]
                g.add_edge(chunk_node(cid), entity_node(self.entity_ids[c]), kind="mentions", predicate="", chunk=cid)
            for a, b, predicate, chunk_id in self.relations:
                g.add_edge(entity_node(a), entity_node(b), kind="relation", predicate=predicate, chunk=chunk_id or "")
            self._nx = g
        return self._nx

    def resolve_node(self, name: str) -> str | None:
        """A node id from a user's name: a node id, an entity name, a document source or title."""
        if name in self.nodes or name.startswith(("chunk:", "ent:")) and name in self.nx:
            return name
        key = self.entity(name)
        if key:
            return entity_node(key)
        for node_id, attrs in self.nodes.items():
            if attrs["kind"] == "document" and name in (attrs.get("name"), attrs.get("source"), attrs["doc_id"]):
                return node_id
        return None

    def neighbors(self, node_id: str, kinds: Iterable[str] | None = None) -> list[dict[str, Any]]:
        g = self.nx
        wanted = set(kinds) if kinds else None
        out = []
        for direction, edges in (("out", g.out_edges(node_id, data=True)), ("in", g.in_edges(node_id, data=True))):
            for src, dst, data in edges:
                if wanted and data["kind"] not in wanted:
                    continue
                other = dst if direction == "out" else src
                out.append({"node": other, "name": g.nodes[other].get("name", other), "kind": g.nodes[other].get("kind"),
                            "edge": data["kind"], "direction": direction, "predicate": data.get("predicate", ""),
                            "chunk": data.get("chunk", "")})
        return out

    def path(self, a: str, b: str) -> list[str]:
        import networkx as nx

        try:
            path: list[str] = nx.shortest_path(self.nx.to_undirected(as_view=True), a, b)
            return path
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            return []
