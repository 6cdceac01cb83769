"""The auto retriever (``--mode auto``) and the graph retriever (``--mode graph``): text retrieval,
the plan, graph search and one CC fusion, each candidate keeping the paths that reached it."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from graphs.traverse import GraphIndex
from ragkit.access import Principal, Scope
from ragkit.config import RetrievalConfig
from ragkit.retrieval.base import Ranked, to_hits
from ragkit.retrieval.filters import FilterResolver
from ragkit.retrieval.fusion import Fused, fuse
from ragkit.retrieval.hybrid import HybridRetriever, fuse_pair
from ragkit.router.graph_reader import Linker
from ragkit.router.graph_search import GraphSearch
from ragkit.router.plan import QueryPlan, RouterSettings, balance, plan
from ragkit.types import Hit

GraphOf = Callable[[Principal | None], GraphIndex | None]  # the graph a principal walks (None: the whole graph)


class AutoRetriever:
    """``mode=auto``: plan, text retrieval, graph retrieval (interleaved for multi-hop), fusion."""

    name = "auto"

    def __init__(self, hybrid: HybridRetriever, graph: GraphOf, filters: FilterResolver,
                 config: Callable[[], RetrievalConfig], settings: RouterSettings | None = None, text: bool = True,
                 linker: Callable[[], Linker | None] | None = None):
        self.hybrid = hybrid
        self.graph = graph
        self.linker = linker  # () -> the embedding linker of the current graph, or None
        self.filters = filters
        self.config = config  # () -> the live retrieval config (a swapped config applies to the next query)
        self.settings = settings or RouterSettings()
        self.text = text  # False: graph only (``mode=graph``)
        self.last_plans: list[QueryPlan] = []

    def candidates(self, queries: Sequence[str], depth: int | None = None,
                   scope: Scope | None = None) -> list[list[Fused]]:
        config = self.config()
        depth = depth or config.depth
        who = scope.principal if scope is not None else None  # a principal walks only the graph its chunks support
        graph = self.graph(who)
        s = self.settings
        allowed = self.filters.allowed(scope) if graph is not None else None
        linker = self.linker() if graph is not None and self.linker is not None else None
        if linker is not None and graph is not None and who is not None:  # name vectors cover the whole graph
            linker = _visible_only(linker, set(graph.entity_ids))
        plans = [plan(q, graph, config.weight, s, linker) for q in queries]
        self.last_plans = plans
        empty: list[tuple[Ranked, Ranked]] = [([], []) for _ in queries]
        pairs = self.hybrid.candidate_lists(queries, scope, depth) if self.text else empty
        search = GraphSearch(graph, s) if graph is not None else None
        lexical_index = self.hybrid.store.lexical() if self.text and s.balance else None
        out: list[list[Fused]] = []
        for query, p, (lex, den) in zip(queries, plans, pairs):
            if self.text and s.balance:
                coverage = lexical_index.coverage(query) if lexical_index is not None else 1.0  # LexicalIndex
                p.dense_weight = balance(lex, den, config.weight, coverage, s.dense_floor, s.dense_slope)
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
            if search is not None and graph is not None:
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
                fused = fuse_pair(lex, den, _with_weight(config, p.dense_weight))
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

    def run(self, query: str, k: int = 10, scope: Scope | None = None) -> list[Hit]:
        fused = self.candidates([query], scope=scope)[0]
        hits = to_hits(self.hybrid.store, [(f.id, f.score) for f in fused], k, [f.scores for f in fused])
        by_id = {f.id: f.paths for f in fused}
        for h in hits:
            h.paths = list(by_id.get(h.chunk.chunk_id, []))
        return hits


def _with_weight(config: RetrievalConfig, weight: float) -> RetrievalConfig:
    """A retrieval config like ``config`` with the dense share ``weight`` (fusion and normalization kept)."""
    return RetrievalConfig(fusion=config.fusion, normalization=config.normalization, weight=weight, rrf_k=config.rrf_k)


def _visible_only(link: Linker, visible: set[str]) -> Linker:
    """``link`` keeping only the entities of a principal's view."""
    return lambda text, taken: [x for x in link(text, taken) if x[0] in visible]
