"""``kit.graph``: the store's graph for the SDK and the CLI (stats, entities, neighbours, paths,
export, alias merges). The graph itself lives in the manifest; this object derives the in-memory view
once per store generation."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from graphs.model import entity_node
from graphs.store import check_consistency, graph_counts
from graphs.traverse import GraphIndex
from ragkit.access import ACCESS_KEY, principal as as_principal

VIEWS = 8  # principals' graph views kept per generation
REBUILD_PAGE = 500  # documents extracted per step of a graph rebuild


class KitGraph:
    """The graph of one store. Cheap to construct; the derived graph loads on first use."""

    def __init__(self, store: Any, embedder: Any, config: Any):
        self.store = store
        self.embedder = embedder
        self.config = config
        self._index: GraphIndex | None = None
        self._lock = threading.Lock()
        self._views: dict[tuple[Any, str], GraphIndex] = {}
        self.load_seconds = 0.0

    @property
    def index(self) -> GraphIndex:
        """The derived graph of the committed generation (rebuilt when the generation moved)."""
        gen = (self.store.generation, self.store.get_meta("graph_merges", 0))
        with self._lock:
            if self._index is None or self._index.generation != gen:
                t0 = time.perf_counter()
                self._index = self._load_cached(gen)
                self.load_seconds = time.perf_counter() - t0
            return self._index

    def _load_cached(self, gen: tuple[int, int]) -> GraphIndex:
        """The derived graph from its on-disk cache for this generation, else built from the manifest
        rows and cached (written beside, published by an atomic rename; older caches removed). The
        cache is data (``graphs.snapshot``), never a pickle: a store built by someone else runs no code."""
        import os

        from graphs import snapshot

        folder = self.store.path / "graph"
        path = folder / f"gen-{gen[0]}-{gen[1]}-v{GraphIndex.FORMAT}.npz"
        if path.exists():
            try:
                index = snapshot.load(path)
                if index.generation == gen and index.format == GraphIndex.FORMAT:
                    return index
            except (OSError, ValueError, KeyError, TypeError):  # a damaged cache is rebuilt from the manifest
                pass
        index = GraphIndex(self.store.db, gen)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".tmp-{os.getpid()}-{path.name}"
            with tmp.open("wb") as fh:
                snapshot.save(index, fh)
            os.replace(tmp, path)
            keep = {path.name, f"names-{path.name}"}  # this generation's graph and name vectors
            for old in folder.iterdir():  # other generations' caches (and pickles of older versions) go
                if old.name not in keep and not old.name.startswith(".tmp-"):
                    old.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only store: the graph still works, uncached
        return index

    def view(self, principal: Any = None) -> GraphIndex:
        """The graph ``principal`` may see: only nodes, edges, entities, aliases and relations that
        chunks of documents it reads support (``graphs.visible``); the whole graph for None / ``*``."""
        from graphs.visible import restrict

        who = as_principal(principal)
        index = self.index
        if who is None or who.everything:
            return index
        key = (index.generation, who.key())
        with self._lock:
            found = self._views.get(key)
        if found is not None:
            return found
        readable = self.store.filter_ids({ACCESS_KEY: who.key()})
        view = restrict(index, readable, self.store.db)
        with self._lock:
            self._views = {k: v for k, v in self._views.items() if k[0] == index.generation}
            if len(self._views) >= VIEWS:
                self._views.pop(next(iter(self._views)))
            self._views[key] = view
        return view

    def name_vectors(self) -> tuple[list[str], Any]:
        """(entity ids, unit name vectors) for embedding links, computed once per graph generation on
        first use and cached beside the graph (``graph/names-gen-G-M-vF.npz``)."""
        import os

        import numpy as np

        from graphs.linking import entity_vectors

        index = self.index
        with self._lock:
            cached = getattr(self, "_names", None)
            if cached is not None and cached[0] == index.generation:
                return cached[1], cached[2]
            folder = self.store.path / "graph"
            path = folder / f"names-gen-{index.generation[0]}-{index.generation[1]}-v{GraphIndex.FORMAT}.npz"
            ids: list[str] | None = None
            if path.exists():
                try:
                    with np.load(path, allow_pickle=False) as data:
                        ids, vectors = [str(x) for x in data["ids"]], data["vectors"]
                except (OSError, ValueError, KeyError):  # a damaged cache is recomputed
                    ids = None
            if ids is None:
                ids, vectors = entity_vectors(index, self.embedder.embed)
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                    tmp = folder / f".tmp-{os.getpid()}-{path.name}"
                    with tmp.open("wb") as fh:
                        np.savez(fh, ids=np.array(ids, dtype=str), vectors=vectors)
                    os.replace(tmp, path)
                except OSError:
                    pass  # a read-only store: computed again by the next process
            self._names = (index.generation, ids, vectors)
            return ids, vectors

    def linker(self) -> Any:
        """``link(text, taken)`` -> embedding links of the phrases of ``text`` not covered by the
        ``taken`` surfaces, or None when ``graph.link_threshold`` is 0 (exact and alias linking only)."""
        from graphs.linking import embedding_links

        threshold = float(getattr(self.config.graph, "link_threshold", 0.0) or 0.0)
        if threshold <= 0:
            return None

        def link(text: str, taken: list[str]) -> list[tuple[str, str, str]]:
            ids, vectors = self.name_vectors()
            return [(e, s, how) for e, s, how, _ in embedding_links(text, taken, ids, vectors, self.embedder.embed, threshold)]

        return link

    def available(self) -> bool:
        """Whether the store holds a graph (indexed with ``graph.enabled``)."""
        return self.store.db.execute("SELECT 1 FROM graph_nodes LIMIT 1").fetchone() is not None

    def invalidate(self) -> None:
        with self._lock:
            self._index = None

    # -- reading ------------------------------------------------------------------------------------

    def stats(self, principal: Any = None) -> dict[str, Any]:
        who = as_principal(principal)
        if who is not None and not who.everything:
            from graphs.visible import counts as view_counts

            counts = view_counts(self.view(who))
        else:
            counts = graph_counts(self.store.db)
        llm = self.store.get_meta("graph_llm_usage")
        return {"store": str(self.store.path), "enabled": bool(self.config.graph.enabled), **counts,
                "consistent": not check_consistency(self.store.db), **({"llm": llm} if llm else {})}

    def entities(self, top: int = 20, label: str | None = None, principal: Any = None) -> list[dict[str, Any]]:
        """The most-mentioned entities (after merges), with their chunk counts."""
        g = self.view(principal)
        order = sorted(range(len(g.entity_ids)), key=lambda i: (-g.df[i], g.entity_ids[i]))
        out = []
        for i in order:
            key = g.entity_ids[i]
            if label and g.labels[key] != label:
                continue
            out.append({"entity": key, "name": g.names[key], "label": g.labels[key], "chunks": int(g.df[i]),
                        "aliases": sorted(a for a, k in g.aliases.items() if k == key)})
            if len(out) >= top:
                break
        return out

    def node(self, name: str, principal: Any = None) -> str:
        node = self.view(principal).resolve_node(name)
        if node is None:
            raise KeyError(f"no entity, document or node named {name!r} in the graph of {self.store.path}")
        return node

    def neighbors(self, name: str, kinds: list[str] | None = None, principal: Any = None) -> dict[str, Any]:
        node = self.node(name, principal)
        return {"node": node, "neighbors": self.view(principal).neighbors(node, kinds)}

    def path(self, a: str, b: str, principal: Any = None) -> dict[str, Any]:
        """The shortest path between two nodes, with the edges (and their supporting chunks) on it."""
        view = self.view(principal)
        src, dst = self.node(a, principal), self.node(b, principal)
        nodes = view.path(src, dst)
        g = view.nx
        steps = []
        for u, v in zip(nodes, nodes[1:]):
            data = g.get_edge_data(u, v) or g.get_edge_data(v, u) or {}
            edge = next(iter(data.values()), {})
            steps.append({"from": u, "to": v, "edge": edge.get("kind", ""), "predicate": edge.get("predicate", ""),
                          "chunk": edge.get("chunk", "")})
        return {"from": src, "to": dst, "nodes": nodes, "names": [g.nodes[n].get("name", n) for n in nodes],
                "steps": steps, "found": bool(nodes)}

    def export(self, path: str | Path | None = None, format: str = "json",  # noqa: A002 - CLI name
               principal: Any = None) -> str:
        """The whole graph (that ``principal`` sees) as GraphML or node-link JSON (written to ``path``)."""
        import networkx as nx

        g = self.view(principal).nx
        if format == "graphml":
            import io

            buf = io.BytesIO()
            nx.write_graphml(g, buf)
            text = buf.getvalue().decode("utf-8")
        elif format == "json":
            text = json.dumps(nx.node_link_data(g, edges="edges"), ensure_ascii=False)
        else:
            raise ValueError(f"unknown export format {format!r}; valid: graphml, json")
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def rebuild(self, progress: Any = None, wait: float = 0.0) -> dict[str, Any]:
        """Re-extract the graph of every committed document with the current graph settings and swap
        it in one transaction (merges are kept); for a changed extractor or a graph turned on later."""
        from graphs.store import delete_document_graph, write_document_graph
        from ragkit.ingest.commit import graph_builder, record_llm_usage

        with self.store.writer(wait):
            builder = graph_builder(self.config)
            total, done = self.store.count_documents(), 0
            # one transaction (all or nothing), filled a page of documents at a time: memory follows
            # the page, not the store; the documents themselves are not written, so the walk is stable
            with self.store.transaction() as db:
                for page in self.store.iter_doc_keys(REBUILD_PAGE):
                    items = [(self.store.document(d), self.store.doc_chunks(d)) for d, _ in page]
                    extractions = builder.run(items) or {}
                    for doc_id, _ in page:
                        delete_document_graph(db, doc_id)
                        write_document_graph(db, doc_id, extractions.get(doc_id))
                    done += len(page)
                    if progress:
                        progress("graph", done, total)
                self.store.set_meta(db, "graph_merges", self.store.get_meta("graph_merges", 0) + 1)  # views reload
                usage = builder.take_usage()
                if usage:
                    record_llm_usage(self.store, db, usage)
        self.invalidate()
        return {"documents": total, **graph_counts(self.store.db), **({"llm": usage} if usage else {})}

    # -- entity merges -------------------------------------------------------------------------------

    def propose_merges(self, threshold: float | None = None) -> list[dict[str, Any]]:
        from graphs.resolve import propose_merges

        return propose_merges(self.store.db, self.embedder, threshold or self.config.graph.merge_threshold)

    def merge(self, merges: list[dict[str, Any]] | None = None, threshold: float | None = None,
              method: str = "embedding") -> list[dict[str, Any]]:
        """Record alias merges (proposed from name embeddings when none are given)."""
        from graphs.resolve import record_merges

        merges = self.propose_merges(threshold) if merges is None else merges
        with self.store.transaction() as db:
            record_merges(db, merges, method)
            self.store.set_meta(db, "graph_merges", self.store.get_meta("graph_merges", 0) + 1)  # views reload
        self.invalidate()
        return merges

    def merge_names(self, alias: str, canonical: str) -> dict[str, Any]:
        """Merge one entity into another by name (a manual merge)."""
        from graphs.resolve import normalize

        a, c = self.index.entity(alias) or normalize(alias), self.index.entity(canonical) or normalize(canonical)
        return self.merge([{"alias": a, "canonical": c, "score": 1.0}], method="manual")[0]

    def unmerge(self, aliases: list[str] | None = None) -> int:
        """Undo merges (by alias name or key), or all of them."""
        from graphs.resolve import normalize, undo_merges

        keys = None if aliases is None else [normalize(a) for a in aliases] + list(aliases)
        with self.store.transaction() as db:
            n = undo_merges(db, keys)
            self.store.set_meta(db, "graph_merges", self.store.get_meta("graph_merges", 0) + 1)
        self.invalidate()
        return n

    def merges(self) -> list[dict[str, Any]]:
        rows = self.store.db.execute("SELECT alias_id, canonical_id, score, method FROM graph_merges ORDER BY alias_id")
        return [{"alias": r[0], "canonical": r[1], "score": r[2], "method": r[3]} for r in rows]

    def entity_chunks(self, name: str, principal: Any = None) -> list[str]:
        g = self.view(principal)
        key = g.entity(name)
        if key is None:
            return []
        col = g.mentions.getcol(g.entity_col[key]).tocoo()
        return [g.chunk_ids[r] for r in col.row]


def entity_id(name: str) -> str:
    from graphs.resolve import normalize

    return entity_node(normalize(name))
