"""The query router (``--mode auto``) and the graph retriever (``--mode graph``).

``plan`` reads a query's features (entities it names, relational / comparison words, bridge patterns,
references to sections, tables, pages, links or files, length) and decides the mix: the lexical/dense
balance, whether and how strongly to add structural retrieval, and whether to interleave hops. The
auto retriever then runs text retrieval, seeds a personalized PageRank over the entity-chunk graph with
the query's entities and (for multi-hop) the entities of the first-hop chunks, adds structural
neighbourhoods for structural queries, and fuses everything with the retrieval layer's CC fusion. A
candidate reached by both a text and a graph path gets a trajectory bonus. Every candidate keeps the
paths that reached it (``Fused.paths`` -> ``Hit.paths``).
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ragkit.access import access_of
from ragkit.retrieval.fusion import Fused, fuse

RELATIONAL = re.compile(
    r"\b(relat\w*|between|connect\w*|link\w*|both|same|also|common|compar\w*|differ\w*|versus|vs\.?|older|younger|"
    r"earlier|later|first|larger|smaller|more|less|higher|lower|which (?:one|of)|either)\b", re.I)
COMPARISON = re.compile(r"\b(both|same|compar\w*|differ\w*|versus|vs\.?|older|younger|earlier|later|larger|smaller|"
                        r"more|fewer|higher|lower|longer|shorter|first|either|which (?:one|of))\b", re.I)
BRIDGE = re.compile(
    r"\b(?:who|which|that|whose|where|when)\b.+\b(?:is|was|were|are|has|had|did|does)\b|"
    r"\b(?:of|by|for|in) the \w+ (?:who|which|that|whose)\b|'s\b", re.I)
QUESTION = re.compile(r"^\s*(?:what|which|who|whom|whose|where|when|how|why|is|are|was|were|do|does|did|in what|"
                      r"on what|the .* (?:of|for) which)\b|\?\s*$", re.I)
STRUCT = {
    "section": re.compile(r"\b(section|chapter|heading|appendix)\b|§|\w\s*>\s*\w", re.I),
    "table": re.compile(r"\btables?\b|\brow for\b", re.I),
    "page": re.compile(r"\b(page|p\.)\s*\d+\b", re.I),
    "link": re.compile(r"\b(?:documents?|pages?|files?)\b.*\b(?:link|refer|point)(?:s|ed)?\b|"
                       r"\b(?:link|refer|point)(?:s|ed)? (?:to|from) (?:the|a|this)\b.*\b(?:page|document|file|guide|"
                       r"notes|reference)\b", re.I),
    "file": re.compile(r"\b[\w\-]+\.(?:md|html?|pdf|txt|docx|xlsx|csv)\b", re.I),
}


@dataclass
class QueryPlan:
    """What the router decided for one query, and why."""

    query: str
    entities: list[tuple[str, str, str]] = field(default_factory=list)  # (entity id, surface, how)
    structural: list[str] = field(default_factory=list)
    multihop: bool = False
    comparison: bool = False
    relational: bool = False
    words: int = 0
    dense_weight: float = 0.5
    graph_weight: float = 0.0
    structure_weight: float = 0.0
    reasons: list[str] = field(default_factory=list)
    graph_ms: float = 0.0  # time spent in graph retrieval (linking is in plan; PPR, hops, structure here)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RouterSettings:
    """Tuned on the HotpotQA raw-200 questions and crafted queries only (see bench/graph_hotpot.py)."""

    hop_chunks: int = 5  # first-hop chunks whose entities seed the second hop
    graph_weight: float = 0.5  # CC weight of the graph list for a multi-hop question
    graph_weight_entities: float = 0.0  # ... when it names entities but is no multi-hop question: text only
    graph_weight_plain: float = 0.0  # ... when it does neither (a claim, a keyword query): text only
    graph_weight_structural: float = 0.1  # ... a query about document structure that names entities
    structure_weight: float = 0.5
    structure_bonus: float = 3.0  # z units added to the best structural match (scaled by structure_weight * 2)
    trajectory_bonus: float = 0.25  # added (in z units) to a candidate found by a text and a graph path
    damping: float = 0.5
    query_seed: float = 1.0
    hop_seed: float = 4.0  # bridge entities of first-hop chunks (query entities weigh 1)
    chunk_seed: float = 0.0
    balance: bool = True  # per-query lexical/dense balance (BM25 term coverage, dense top cosine)
    dense_floor: float = 0.55  # MiniLM cosine under which the dense share shrinks (SciFact train simulations)
    dense_slope: float = 2.0
    graph_depth: int = 100


def plan(query: str, graph: Any | None, base_weight: float = 0.5, settings: RouterSettings | None = None,
         linker: Callable[[str, list[str]], list[tuple[str, str, str]]] | None = None) -> QueryPlan:
    """The query plan from the query's features alone (the text lists refine the balance later).
    ``linker``: embedding links for the query's phrases that name no entity exactly (``KitGraph.linker``)."""
    s = settings or RouterSettings()
    p = QueryPlan(query=query, words=len(query.split()), dense_weight=base_weight)
    if graph is not None:
        p.entities = graph.link(query)
        if linker is not None:
            known = {e for e, _, _ in p.entities}
            p.entities += [x for x in linker(query, [surface for _, surface, _ in p.entities]) if x[0] not in known]
    p.structural = [name for name, rx in STRUCT.items() if rx.search(query)]
    p.comparison = bool(COMPARISON.search(query))
    p.relational = bool(RELATIONAL.search(query))
    bridge = bool(BRIDGE.search(query))
    question = bool(QUESTION.search(query))
    # a question about a named entity, a bridge pattern or a comparison: hop from what the first hop names
    p.multihop = question and (bridge or p.comparison or bool(p.entities)) and p.words >= 6
    if p.entities:
        p.reasons.append("entities: " + ", ".join(repr(e[1]) for e in p.entities))
    if p.multihop:
        p.reasons.append("multi-hop (" + ", ".join(x for x, on in (("bridge", bridge), ("comparison", p.comparison),
                                                                  ("entities", bool(p.entities))) if on) + ")")
    if graph is not None and p.multihop:
        p.graph_weight = s.graph_weight
    elif graph is not None and p.entities and p.structural:
        p.graph_weight = s.graph_weight_structural
    elif graph is not None and p.entities:
        p.graph_weight = s.graph_weight_entities
    elif graph is not None:
        p.graph_weight = s.graph_weight_plain
    if graph is not None and p.structural:
        p.structure_weight = s.structure_weight
        p.reasons.append("structural: " + ", ".join(p.structural))
    return p


def balance(lexical: Sequence[tuple[str, float]], dense: Sequence[tuple[str, float]], base: float,
            coverage: float = 1.0, dense_floor: float = 0.55, dense_slope: float = 2.0) -> float:
    """The dense share of the text fusion for one query, from two label-free signals:

    - the lexical share shrinks with the share of the query's terms BM25 can match at all
      (``coverage``: misspelt or unknown words match nothing), so a crippled BM25 hands over to dense;
    - the dense share shrinks when the dense retriever's best cosine falls below ``dense_floor`` (the
      embedder finds nothing close to the query: misspelt or out-of-domain words), by ``dense_slope``
      times the relative shortfall.

    With every term known and a close dense match the configured ``base`` is returned unchanged, so
    the fusion is the hybrid retriever's. ``dense_floor`` is on the scale of the embedder's cosine
    (0.55 for MiniLM, tuned on SciFact train simulations by ``bench/graph_balance.py --split train``)."""
    weight = 1.0 - (1.0 - base) * min(max(coverage, 0.0), 1.0)
    top = float(dense[0][1]) if dense else 0.0
    if dense_floor > 0 and top < dense_floor:
        weight *= max(0.0, 1.0 - dense_slope * (dense_floor - top) / dense_floor)
    return float(np.clip(weight, 0.05, 0.95)) if (coverage < 1.0 or top < dense_floor) else float(base)


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
        out = []
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


class AutoRetriever:
    """``mode=auto``: plan, text retrieval, graph retrieval (interleaved for multi-hop), fusion."""

    name = "auto"

    def __init__(self, hybrid: Any, graph: Callable[[], Any | None], filters: Any, config: Any,
                 settings: RouterSettings | None = None, text: bool = True,
                 linker: Callable[[], Callable[[str, list[str]], list[tuple[str, str, str]]] | None] | None = None):
        self.hybrid = hybrid
        self.graph = graph
        self.linker = linker  # () -> the embedding linker of the current graph, or None
        self.filters = filters
        self.config = config
        self.settings = settings or RouterSettings()
        self.text = text  # False: graph only (``mode=graph``)
        self.last_plans: list[QueryPlan] = []

    def candidates(self, queries: Sequence[str], depth: int | None = None,
                   where: Mapping[str, Any] | None = None) -> list[list[Fused]]:
        depth = depth or self.config.depth
        who = access_of(where)  # a principal walks only the graph its readable chunks support
        graph = self.graph() if who is None else self.graph(who)
        s = self.settings
        allowed = self.filters.allowed(where) if graph is not None else None
        linker = self.linker() if graph is not None and self.linker is not None else None
        if linker is not None and who is not None:  # the name vectors cover the whole graph: keep the visible
            visible, link_all = set(graph.entity_ids), linker
            linker = lambda q, taken: [x for x in link_all(q, taken) if x[0] in visible]  # noqa: E731
        plans = [plan(q, graph, self.config.weight, s, linker) for q in queries]
        self.last_plans = plans
        pairs = self.hybrid.candidate_lists(queries, where, depth) if self.text else [([], []) for _ in queries]
        search = GraphSearch(graph, s) if graph is not None else None
        store = getattr(self.hybrid, "store", None)
        lexical_index = store.lexical() if store is not None and self.text and s.balance else None
        out = []
        for query, p, (lex, den) in zip(queries, plans, pairs):
            if self.text and s.balance:
                coverage = lexical_index.coverage(query) if lexical_index is not None else 1.0  # LexicalIndex
                p.dense_weight = balance(lex, den, self.config.weight, coverage, s.dense_floor, s.dense_slope)
            lists: dict[str, Sequence[tuple[str, float]]] = {}
            structure: list[tuple[str, float]] = []
            weights: dict[str, float] = {}
            paths: dict[str, list[str]] = {}
            if self.text:
                text_share = 1.0 - p.graph_weight
                lists["lexical"], lists["dense"] = lex, den
                weights["lexical"] = text_share * (1.0 - p.dense_weight)
                weights["dense"] = text_share * p.dense_weight
                for name, ranked in (("lexical", lex), ("dense", den)):
                    for cid, _ in ranked:
                        paths.setdefault(cid, []).append(name)
            started = time.perf_counter()
            if search is not None:
                seeds: dict[str, float] = {e: s.query_seed for e, _, _ in p.entities}
                hop_of: dict[str, tuple[str, str]] = {}  # bridge entity -> (first-hop title, chunk id)
                chunk_seeds: dict[str, float] = {}
                if self.text and (p.multihop or not seeds) and (p.graph_weight > 0):
                    first = fuse({"lexical": lex, "dense": den}, "cc", normalization="zscore",
                                 weights={"lexical": 1 - p.dense_weight, "dense": p.dense_weight})[: s.hop_chunks]
                    for rank, f in enumerate(first):
                        title = graph.nodes.get(f"doc:{graph.chunk_doc.get(f.id, '')}", {}).get("name", f.id)
                        chunk_seeds[f.id] = s.chunk_seed / (rank + 1)
                        for e, w in graph.chunk_entities(f.id, bridges=True):
                            if e not in seeds:
                                hop_of.setdefault(e, (title, f.id))
                            seeds[e] = seeds.get(e, 0.0) + s.hop_seed * w / (rank + 1)
                if seeds and (p.graph_weight > 0 or not self.text):
                    ranked = search.ppr(seeds, chunk_seeds, allowed, max(depth, s.graph_depth))
                    lists["graph"] = ranked
                    weights["graph"] = p.graph_weight if self.text else 1.0
                    for cid, _ in ranked[:depth]:
                        paths.setdefault(cid, []).append(search.explain(cid, seeds, hop_of))
                if p.structural and p.structure_weight > 0:
                    ranked, why = search.structural(query, p.structural, allowed)
                    structure = ranked
                    for cid, _ in ranked:
                        paths.setdefault(cid, []).append(why[cid])
            p.graph_ms = (time.perf_counter() - started) * 1000
            if self.text and "graph" not in lists and not structure:
                # the graph does not help this query (a claim, a keyword or single-hop query): the hybrid
                # retriever's own fusion, with the per-query dense share, so auto == hybrid when unshifted
                from ragkit.retrieval.hybrid import fuse_pair

                fused = fuse_pair(lex, den, _with_weight(self.config, p.dense_weight))
                for f in fused:
                    f.paths = paths.get(f.id, [])
                p.reasons.append("text only")
                out.append(fused[:depth])
                continue
            lists = {k: v for k, v in lists.items() if v}
            if not lists and not structure:
                out.append([])
                continue
            fused = fuse(lists, "cc", weights=weights, normalization="zscore") if lists else []
            if structure:  # a few exact structural matches: a bonus in z units (a list of one has no z-score)
                rows = {f.id: f for f in fused}
                top = structure[0][1] or 1.0
                for cid, score in structure:
                    row = rows.get(cid)
                    if row is None:
                        row = rows[cid] = Fused(cid, min((f.score for f in fused), default=0.0))
                        fused.append(row)
                    row.scores["structure"] = score
                    row.score += s.structure_bonus * p.structure_weight * 2 * max(score, 0.0) / top
                fused.sort(key=lambda f: -f.score)
            if self.text and s.trajectory_bonus:
                for f in fused:
                    kinds = paths.get(f.id, [])
                    if any(k.startswith("graph:") for k in kinds) and any(k in ("lexical", "dense") for k in kinds):
                        f.score += s.trajectory_bonus
                fused.sort(key=lambda f: -f.score)
            for f in fused:
                f.paths = paths.get(f.id, [])
            out.append(fused[:depth])
        return out

    def run(self, query: str, k: int = 10, where: dict[str, Any] | None = None) -> list[Any]:
        from ragkit.retrieval.base import to_hits

        fused = self.candidates([query], where=where)[0]
        hits = to_hits(self.hybrid.store, [(f.id, f.score) for f in fused], k, [f.scores for f in fused])
        by_id = {f.id: f.paths for f in fused}
        for h in hits:
            h.paths = list(by_id.get(h.chunk.chunk_id, []))
        return hits


def _with_weight(config: Any, weight: float) -> Any:
    """A retrieval config like ``config`` with the dense share ``weight`` (fusion and normalization kept)."""
    from ragkit.config import RetrievalConfig

    return RetrievalConfig(fusion=config.fusion, normalization=config.normalization, weight=weight, rrf_k=config.rrf_k)


def make_retriever(service: Any, mode: str) -> AutoRetriever:
    """The ``graph`` or ``auto`` retriever of a RetrievalService (its kit's graph, filters, hybrid)."""
    kit = service.kit

    def graph(principal: Any = None) -> Any | None:
        if not getattr(kit.config, "graph", None) or not kit.graph.available():
            return None
        return kit.graph.index if principal is None else kit.graph.view(principal)

    class _Config:  # follows the service's (possibly swapped) retrieval config
        def __getattr__(self, name: str) -> Any:
            return getattr(service.config, name)

    return AutoRetriever(service.retriever("hybrid"), graph, service.filters, _Config(), text=(mode == "auto"),
                         linker=kit.graph.linker)


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
