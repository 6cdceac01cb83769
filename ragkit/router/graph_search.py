"""Graph retrieval over a ``GraphIndex``: personalized PageRank from a plan's seeds, and structural
neighbourhoods (sections, tables, pages, links) for structural queries."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ragkit.router.plan import RouterSettings


class GraphSearch:
    """Graph retrieval over a ``GraphIndex``: PPR from seeds, structural neighbourhoods."""

    def __init__(self, graph: Any, settings: RouterSettings):
        self.graph = graph
        self.settings = settings

    def ppr(self, entity_seeds: Mapping[str, float], chunk_seeds: Mapping[str, float] | None,
            allowed: frozenset[str] | None, depth: int) -> list[tuple[str, float]]:
        g = self.graph
        scores = g.ppr(entity_seeds, chunk_seeds, damping=self.settings.damping)
        if not scores.size:
            return []
        order = np.argsort(-scores)
        out: list[tuple[str, float]] = []
        for i in order:
            if scores[i] <= 0 or len(out) >= depth:
                break
            cid = g.chunk_ids[i]
            if allowed is None or cid in allowed:
                out.append((cid, float(scores[i])))
        return out

    def explain(self, chunk_id: str, seeds: Mapping[str, float], hop_of: Mapping[str, tuple[str, str]]) -> str:
        """The seed entity that best explains why PPR reached ``chunk_id``: an entity of the query it
        mentions, else a bridge entity from another first-hop chunk, else the strongest seed."""
        g = self.graph
        own = {e for e, _ in g.chunk_entities(chunk_id)}

        def strength(e: str) -> float:
            return seeds[e] / max(g.df[g.entity_col[e]], 1) if e in g.entity_col else 0.0

        query = sorted((e for e in seeds if e in own and e not in hop_of), key=strength, reverse=True)
        hops = sorted((e for e in seeds if e in own and e in hop_of and hop_of[e][1] != chunk_id), key=strength,
                      reverse=True)
        if query:
            return f"graph:PPR from '{g.names.get(query[0], query[0])}'"
        if hops:
            e = hops[0]
            return f"graph:hop from '{hop_of[e][0]}' via '{g.names.get(e, e)}'"
        best = max(seeds, key=strength, default="")
        if best in hop_of:
            return f"graph:hop from '{hop_of[best][0]}' via '{g.names.get(best, best)}'"
        return f"graph:PPR from '{g.names.get(best, best)}'"

    def structural(self, query: str, kinds: Sequence[str], allowed: frozenset[str] | None,
                   depth: int = 20) -> tuple[list[tuple[str, float]], dict[str, str]]:
        """Chunks reached along section / table / page / link edges that the query refers to."""
        g = self.graph
        qwords = {w for w in re.findall(r"[a-z0-9]+", query.lower()) if w not in _STRUCT_STOP}
        scored: dict[str, float] = {}
        why: dict[str, str] = {}

        def add(cid: str, score: float, path: str) -> None:
            if allowed is not None and cid not in allowed:
                return
            if score > scored.get(cid, 0.0):
                scored[cid] = score
                why[cid] = path

        docs = [(n, a) for n, a in g.nodes.items() if a["kind"] == "document"]

        def doc_match(words: set[str]) -> list[tuple[float, str, dict[str, Any]]]:
            out = []
            for node_id, attrs in docs:
                name = f"{attrs.get('name', '')} {str(attrs.get('source', '')).rsplit('/', 1)[-1]}".lower()
                dwords = set(re.findall(r"[a-z0-9]+", name)) - {"md", "html", "pdf", "txt", "htm", "docx"}
                overlap = len(words & dwords)
                if overlap:
                    out.append((overlap / (len(dwords) ** 0.5 or 1), node_id, attrs))
            return sorted(out, key=lambda t: -t[0])

        if "section" in kinds or ("file" in kinds and not {"table", "link", "page"} & set(kinds)):
            for node_id, attrs in g.nodes.items():
                if attrs["kind"] != "section":
                    continue
                hwords = set(re.findall(r"[a-z0-9]+", attrs["name"].lower()))
                last = set(re.findall(r"[a-z0-9]+", str(attrs.get("heading", "")).lower()))
                if not last or not qwords & last:
                    continue  # the section's own heading must be named
                score = len(qwords & hwords) + 0.5 * len(qwords & last) / len(last) - 0.1 * len(hwords - qwords)
                direct = {c[6:] for c, _, _, _ in g.children(node_id, "contains") if c.startswith("chunk:")}
                for rank, cid in enumerate(g.chunks_under(node_id, 10)):
                    add(cid, (score if cid in direct else score / 2) - 0.01 * rank, f"graph:section '{attrs['name']}'")
        if "table" in kinds:
            m = re.search(r"\btable\s+(\d+)", query, re.I)
            number = int(m.group(1)) if m else None
            for score, doc, attrs in doc_match(qwords)[:3] or [(1.0, n, a) for n, a in docs]:
                for tnode, kind, _, _ in g.children(doc, "contains") + [c for s, _, _, _ in g.children(doc, "contains")
                                                                      for c in g.children(s, "contains")]:
                    t = g.nodes.get(tnode, {})
                    if t.get("kind") != "table" or (number is not None and t.get("number") != number):
                        continue
                    for rnode, _, _, _ in g.children(tnode, "contains"):
                        r = g.nodes.get(rnode, {})
                        if r.get("kind") != "row":
                            continue
                        rwords = set(re.findall(r"[a-z0-9]+", str(r.get("name", "")).lower()))
                        if rwords and rwords <= qwords | {w for w in rwords if w in query.lower()}:
                            cands = [c[6:] for c, _, _, _ in g.children(rnode, "contains") if c.startswith("chunk:")]
                            for cid in sorted(cands, key=lambda c: len(g.parents(f"chunk:{c}", "contains"))):
                                label = f"table {t.get('number')} of '{attrs.get('name')}' row '{r.get('name')}'"
                                add(cid, score + 1.0 + 0.1 * len(rwords), f"graph:{label}")
                                break
                    for cid in g.chunks_under(tnode, 3):
                        add(cid, score, f"graph:table {t.get('number')} of '{attrs.get('name')}'")
        if "link" in kinds:
            for score, doc, attrs in doc_match(qwords)[:2]:
                for src, kind, chunk_id, _ in g.parents(doc, "links"):
                    if chunk_id:
                        add(chunk_id, score + 0.5, f"graph:links to '{attrs.get('name')}'")
        if "page" in kinds:
            m = re.search(r"\b(?:page|p\.)\s*(\d+)", query, re.I)
            if m:
                for score, doc, attrs in doc_match(qwords)[:3]:
                    for cid in g.chunks_under(f"page:{doc[4:]}#{m.group(1)}", 5):
                        add(cid, score + 0.5, f"graph:page {m.group(1)} of '{attrs.get('name')}'")
        if "file" in kinds:
            for name in re.findall(r"\b[\w\-]+\.(?:md|html?|pdf|txt|docx|xlsx|csv)\b", query, re.I):
                for node_id, attrs in docs:
                    if str(attrs.get("source", "")).endswith("/" + name) or attrs.get("source") == name:
                        for rank, cid in enumerate(g.chunks_under(node_id, 20)):
                            add(cid, 0.5 - 0.01 * rank, f"graph:file '{name}'")
        ranked = sorted(scored.items(), key=lambda kv: -kv[1])[:depth]
        return ranked, why


_STRUCT_STOP = {"what", "does", "the", "say", "says", "section", "table", "row", "for", "in", "of", "which", "documents",
                "document", "link", "links", "to", "page", "a", "an", "is", "about", "on", "and", "chapter", "from", "part",
                "column", "tell", "me", "show", "with", "under", "heading", "file"}
