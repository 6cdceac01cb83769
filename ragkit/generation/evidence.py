"""The graph's evidence for an answer, as chunks: both hops of a multi-hop question and the source
chunks of relations between the entities it names."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ragkit.access import access_of

_HOP = re.compile(r"^graph:hop from '(.+)' via '(.+)'$")


def graph_evidence(kit: Any, question: str, hits: list[Any], where: Mapping[str, Any] | None = None,
                   limit: int = 3) -> list[Any]:
    """``hits`` plus the graph's evidence for them, as chunks (never a summary), at most ``limit`` more:
    the first-hop chunk that a second-hop hit was reached from, and the source chunk of each relation
    between two entities the question names. Without a graph, ``hits`` unchanged."""
    from ragkit.retrieval import service
    from ragkit.types import Hit

    if not getattr(kit.config, "graph", None) or not kit.graph.available():
        return hits
    who = access_of(where)
    g = kit.graph.index if who is None else kit.graph.view(who)  # only what the principal's chunks support
    svc = service(kit)
    allowed = svc.filters.allowed(where)
    have = {h.chunk.chunk_id for h in hits}
    extra: dict[str, str] = {}

    def want(cid: str | None, why: str) -> None:
        if cid and cid not in have and cid not in extra and (allowed is None or cid in allowed):
            extra[cid] = why

    # second hops the router reaches a little deeper than k (in any mode): the other half of the answer
    hops = [h for h in svc.search(question, k=max(len(hits), 5), mode="auto", where=where)
            if h.chunk.chunk_id not in have and any(p.startswith("graph:hop") for p in h.paths)][:limit]
    hits = hits + hops
    have.update(h.chunk.chunk_id for h in hops)
    titles = {}
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
    found = {c.chunk_id: c for c in kit.store.chunks([cid for cid, _ in chosen])}
    floor = min((h.score for h in hits), default=0.0)
    return hits + [Hit(chunk=found[cid], score=floor, paths=[why]) for cid, why in chosen if cid in found and cid not in
                   {h.chunk.chunk_id for h in hits}]
