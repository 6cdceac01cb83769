"""The query plan: a query's features (entities it names, relational / comparison words, bridge
patterns, structural references, length) decide the mix of text and graph retrieval (``plan``), and
the per-query lexical/dense balance (``balance``)."""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

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
