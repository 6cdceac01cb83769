"""``kit.graph``: the store's graph for the SDK and the CLI (stats, entities, neighbours, paths,
export, rebuild, alias merges). The graph itself lives in the manifest; the read side
(``ragkit.router.graph_reader``) derives the in-memory view once per store generation."""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from graphs.model import entity_node
from graphs.store import check_consistency, chunk_mentions, graph_counts
from ragkit.access import Who, principal as as_principal
from ragkit.router.graph_reader import GraphReader

REBUILD_PAGE = 500  # documents extracted per step of a graph rebuild


class KitGraph(GraphReader):
    """``kit.graph``: the store's graph (read through :class:`GraphReader`) with stats, entities,
    neighbours, paths, export, rebuild and alias merges."""

    # -- reading ------------------------------------------------------------------------------------

    def mentions(self, chunk_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """Each chunk's entity mentions (surface, label) as the graph recorded them (short answers
        read them instead of running a recognizer at query time)."""
        return chunk_mentions(self.store.db, chunk_ids)

    def stats(self, principal: Who = None) -> dict[str, Any]:
        who = as_principal(principal)
        if who is not None and not who.everything:
            from graphs.visible import counts as view_counts

            counts = view_counts(self.view(who))
        else:
            counts = graph_counts(self.store.db)
        llm = self.store.get_meta("graph_llm_usage")
        return {"store": str(self.store.path), "enabled": bool(self.config.graph.enabled), **counts,
                "consistent": not check_consistency(self.store.db), **({"llm": llm} if llm else {})}

    def entities(self, top: int = 20, label: str | None = None, principal: Who = None) -> list[dict[str, Any]]:
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

    def node(self, name: str, principal: Who = None) -> str:
        node = self.view(principal).resolve_node(name)
        if node is None:
            raise KeyError(f"no entity, document or node named {name!r} in the graph of {self.store.path}")
        return node

    def neighbors(self, name: str, kinds: list[str] | None = None, principal: Who = None) -> dict[str, Any]:
        node = self.node(name, principal)
        return {"node": node, "neighbors": self.view(principal).neighbors(node, kinds)}

    def path(self, a: str, b: str, principal: Who = None) -> dict[str, Any]:
        """The shortest path between two nodes, with the edges (and their supporting chunks) on it."""
        view = self.view(principal)
        src, dst = self.node(a, principal), self.node(b, principal)
        nodes = view.path(src, dst)
        g = view.nx
        steps = []
        for u, v in zip(nodes, nodes[1:]):
            data = g.get_edge_data(u, v) or g.get_edge_data(v, u) or {}
            edge: dict[str, Any] = next(iter(data.values()), {})
            steps.append({"from": u, "to": v, "edge": edge.get("kind", ""), "predicate": edge.get("predicate", ""),
                          "chunk": edge.get("chunk", "")})
        return {"from": src, "to": dst, "nodes": nodes, "names": [g.nodes[n].get("name", n) for n in nodes],
                "steps": steps, "found": bool(nodes)}

    def export(self, path: str | Path | None = None, format: str = "json",  # noqa: A002 - CLI name
               principal: Who = None) -> str:
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

    def rebuild(self, progress: Callable[[str, int, int], None] | None = None, wait: float = 0.0) -> dict[str, Any]:
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

    def entity_chunks(self, name: str, principal: Who = None) -> list[str]:
        g = self.view(principal)
        key = g.entity(name)
        if key is None:
            return []
        col = g.mentions.getcol(g.entity_col[key]).tocoo()
        return [g.chunk_ids[r] for r in col.row]


def entity_id(name: str) -> str:
    from graphs.resolve import normalize

    return entity_node(normalize(name))
