"""bench/calibrate_verify.py's extractive relevance: every candidate sentence of a question's paragraphs
with its features, ranked by a weighting, the selection rule of ``ExtractiveGenerator.select``, the
citation metrics, and the grid search for the weights, the abstain threshold and the second-passage rule.

A helper module of bench/calibrate_verify.py (no ``main``: not a bench of its own).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.hotpot import paragraph_text
from ragkit.generation.extractive import ExtractiveGenerator, _answer_like

EXTRACTIVE_PRECISION_TARGET = 0.8  # extractive citations (paragraph level)
MARGIN_SAME = 0.1  # = extractive.MARGIN (extra sentences from a cited passage: no new paragraph)
MAX_SENTENCES = 3  # = extractive.MAX_SENTENCES


def relevance_rows(records: list[dict[str, Any]], gen: ExtractiveGenerator) -> list[dict[str, Any]]:
    rows = []
    for rec in records:
        passages, gold_n, support_spans = [], set(), {}
        gold_titles = {t for t, _ in rec["supporting_facts"]}
        for i, (title, sents) in enumerate(rec["context"]):
            text, spans = paragraph_text(title, sents)
            passages.append((i + 1, text))
            if title in gold_titles:
                gold_n.add(i + 1)
            support_spans[i + 1] = [spans[idx] for t, idx in rec["supporting_facts"] if t == title and idx < len(spans)]
        cands = [c for c in gen.score(rec["question"], passages) if _answer_like(c.text)]  # as select() does
        feats = (
            np.array([[c.cosine, c.lexical, c.passage, c.passage_lexical, c.answer_type] for c in cands])
            if cands
            else np.zeros((0, 5))
        )
        labels = np.array([_is_support(c.span, support_spans.get(c.n, [])) for c in cands], dtype=bool)
        rows.append(
            {
                "n": np.array([c.n for c in cands]),
                "feats": feats,
                "labels": labels,
                "gold": gold_n,
                "text": [c.text.lower() for c in cands],
            }
        )
    return rows


def _is_support(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    for start, end in spans:
        inter = min(span[1], end) - max(span[0], start)
        if inter > 0.5 * (span[1] - span[0]):
            return True
    return False


def rank(rows: list[dict[str, Any]], weights: np.ndarray) -> list[dict[str, Any]]:
    """Per question: candidates sorted by score, duplicates (same text) removed."""
    ranked = []
    for row in rows:
        scores = row["feats"] @ weights if len(row["n"]) else np.zeros(0)
        order = np.argsort(-scores, kind="stable")
        seen, keep = set(), []
        for i in order:
            if row["text"][i] not in seen:
                seen.add(row["text"][i])
                keep.append(i)
        keep = np.array(keep, dtype=int)
        ranked.append(
            {
                "scores": scores[keep],
                "n": row["n"][keep] if len(keep) else keep,
                "labels": row["labels"][keep] if len(keep) else keep.astype(bool),
                "gold": row["gold"],
            }
        )
    return ranked


def select(
    r: dict[str, Any],
    threshold: float,
    other_margin: float,
    max_passages: int,
    margin: float = MARGIN_SAME,
    max_n: int = MAX_SENTENCES,
) -> list[int]:
    """Indexes (into the ranked arrays) the extractive rule keeps: mirrors ExtractiveGenerator.select."""
    scores, ns = r["scores"], r["n"]
    if not len(scores) or scores[0] < threshold:
        return []
    chosen, cited = [0], {int(ns[0])}
    for i in range(1, len(scores)):
        if len(chosen) >= max_n or scores[i] < threshold:
            break
        n = int(ns[i])
        if n in cited:
            keep = scores[i] >= scores[0] - margin
        else:
            keep = len(cited) < max_passages and scores[i] >= scores[0] - other_margin
        if keep:
            chosen.append(i)
            cited.add(n)
    return chosen


def citation_metrics(
    ranked: list[dict[str, Any]], threshold: float, other_margin: float, max_passages: int
) -> dict[str, float]:
    cited_total = cited_gold = gold_total = abstained = sent_tp = sent_sel = 0
    for r in ranked:
        chosen = select(r, threshold, other_margin, max_passages)
        if not len(chosen):
            abstained += 1
        paragraphs = {int(n) for n in r["n"][chosen]}
        cited_total += len(paragraphs)
        cited_gold += len(paragraphs & r["gold"])
        gold_total += len(r["gold"])
        sent_sel += len(chosen)
        sent_tp += int(r["labels"][chosen].sum())
    return {
        "citation_precision": round(cited_gold / cited_total, 4) if cited_total else 1.0,
        "citation_recall": round(cited_gold / gold_total, 4) if gold_total else 0.0,
        "supporting_sentence_precision": round(sent_tp / sent_sel, 4) if sent_sel else 1.0,
        "abstained": round(abstained / len(ranked), 4),
    }


WEIGHT_GRID = [
    (a, b, c, d, e)
    for a in (0.4, 0.5, 0.6, 0.7)
    for b in (0.0, 0.15, 0.3)
    for c in (0.0, 0.15, 0.3)
    for d in (0.0, 0.15, 0.3)
    for e in (0.0, 0.05, 0.1, 0.2)
]


ABSTAIN_TARGET = 0.9  # share of unanswerable questions (another question's paragraphs) that must abstain


def unanswerable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each question paired with the next question's paragraphs: nothing there answers it."""
    return [
        {**rec, "context": records[(i + 1) % len(records)]["context"], "supporting_facts": []}
        for i, rec in enumerate(records)
    ]


def abstain_threshold(ranked_unanswerable: list[dict[str, Any]]) -> float:
    """The lowest threshold at which ABSTAIN_TARGET of the unanswerable questions abstain."""
    tops = np.sort([r["scores"][0] for r in ranked_unanswerable if len(r["scores"])])
    return float(tops[int(np.ceil(ABSTAIN_TARGET * len(tops))) - 1]) + 1e-3 if len(tops) else 0.0


def calibrate_relevance(rows: list[dict[str, Any]], negatives: list[dict[str, Any]]) -> dict[str, Any]:
    """Threshold: ABSTAIN_TARGET of unanswerable questions abstain. Weights and the rule for a second
    passage: maximize citation recall with citation precision >= EXTRACTIVE_PRECISION_TARGET, then the
    share of kept sentences that are supporting facts."""
    best: tuple[tuple[float, float], dict[str, Any]] = ((-1.0, 0.0), {})
    for combo in WEIGHT_GRID:
        weights = np.array(combo) / sum(combo)
        ranked = rank(rows, weights)
        threshold = abstain_threshold(rank(negatives, weights))
        for other_margin in (0.0, 0.02, 0.04, 0.06, 0.1, 0.15):
            for max_passages in (1, 2):
                m = citation_metrics(ranked, threshold, other_margin, max_passages)
                if m["citation_precision"] < EXTRACTIVE_PRECISION_TARGET:
                    continue
                # paragraph recall first (to 0.01), then choosing the supporting sentence within it
                objective = (round(m["citation_recall"], 2), m["supporting_sentence_precision"] - m["abstained"])
                if objective > best[0]:
                    best = (
                        objective,
                        {
                            "COS": round(float(weights[0]), 3),
                            "LEX": round(float(weights[1]), 3),
                            "PASSAGE": round(float(weights[2]), 3),
                            "PASSAGE_LEX": round(float(weights[3]), 3),
                            "TYPE": round(float(weights[4]), 3),
                            "THRESHOLD": round(threshold, 3),
                            "OTHER_MARGIN": other_margin,
                            "MAX_PASSAGES": max_passages,
                        },
                    )
    return best[1]

