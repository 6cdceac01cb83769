"""The passages an answer is written from: the search hits plus the graph's evidence, as chunks (both
hops of a multi-hop question and the source chunks of relations between the entities it names), all
read from one committed generation of the store."""
from __future__ import annotations

import re

from ragkit.access import Scope
from ragkit.router.service import RetrievalService
from ragkit.types import Hit

_HOP = re.compile(r"^graph:hop from '(.+)' via '(.+)'$")


class Evidence:
    """Retrieval for answers. ``ask`` and every turn of ``chat`` retrieve through :meth:`run`, so a
    follow-up retrieves as a first question does."""

    def __init__(self, search: RetrievalService, limit: int = 3):
        self.search = search
        self.limit = limit  # graph evidence chunks added at most

    def run(self, query: str, k: int | None = None, scope: Scope | None = None) -> list[Hit]:
        """The search hits for ``query`` plus the graph's evidence for them."""
        store = self.search.store

        def read(generation: int) -> list[Hit]:
            hits = self.search.search(query, k=k or self.search.config.k, scope=scope)
            hits = self.graph_evidence(query, hits, scope)
            for hit in hits:
                hit.generation = generation
            return hits

        return store.read_consistent(read)

    def hits(self, query: str, k: int | None = None, scope: Scope | None = None) -> list[Hit]:
        """The search hits alone (``ask_many``: one batch of prompts, no graph walk per question)."""
        return self.search.search(query, k=k or self.search.config.k, scope=scope)

    def graph_evidence(self, question: str, hits: list[Hit], scope: Scope | None = None) -> list[Hit]:
        """``hits`` plus the graph's evidence for them, as chunks (never a summary), at most ``limit`` more:
        the first-hop chunk that a second-hop hit was reached from, and the source chunk of each relation
        between two entities the question names. Without a graph, ``hits`` unchanged."""
        graph, svc, limit = self.search.graph, self.search, self.limit
        if graph is None or not graph.available():
            return hits
        who = scope.principal if scope is not None else None
        g = graph.index if who is None else graph.view(who)  # only what the principal's chunks support
        allowed = svc.filters.allowed(scope)
        have = {h.chunk.chunk_id for h in hits}
        extra: dict[str, str] = {}

        def want(cid: str | None, why: str) -> None:
            if cid and cid not in have and cid not in extra and (allowed is None or cid in allowed):
                extra[cid] = why

        # second hops the router reaches a little deeper than k (in any mode): the other half of the answer
        hops = [h for h in svc.search(question, k=max(len(hits), 5), mode="auto", scope=scope)
                if h.chunk.chunk_id not in have and any(p.startswith("graph:hop") for p in h.paths)][:limit]
        hits = hits + hops
        have.update(h.chunk.chunk_id for h in hops)
        titles: dict[str, str] = {}
        for node_id, attrs in g.nodes.items():
            if attrs["kind"] == "document":
                titles.setdefault(attrs["name"], node_id[4:])
        for h in hits:
            for p in h.paths:
                m = _HOP.match(p)
                if not m:
                    continue
                doc_id, entity = titles.get(m.group(1)), g.entity(m.group(2))
                if doc_id is None or entity is None:
                    continue
                col = g.entity_col[entity]
                for cid in (g.chunk_ids[r] for r in g.mentions.getcol(col).tocoo().row):
                    if g.chunk_doc.get(cid) == doc_id:
                        want(cid, f"graph:first hop '{m.group(1)}' mentions '{g.names[entity]}'")
                        break
        named = {e for e, _, _ in g.link(question)}
        for a, b, predicate, chunk_id in g.relations:
            if a in named and b in named:
                want(chunk_id, f"graph:relation '{g.names[a]}' {predicate} '{g.names[b]}'")
        chosen = list(extra.items())[:limit]
        found = {c.chunk_id: c for c in svc.store.chunks([cid for cid, _ in chosen])}
        floor = min((h.score for h in hits), default=0.0)
        return hits + [Hit(chunk=found[cid], score=floor, paths=[why]) for cid, why in chosen if cid in found and cid not in
                       {h.chunk.chunk_id for h in hits}]
