"""Calibrate the thresholds of verification (``verified``) and of the extractive generator's relevance,
on HotpotQA raw 200: fit on the first 100 questions, report on the other 100.

Usage (from the repo root):

    .venv/bin/python bench/calibrate_verify.py [--data FILE] [--json OUT.json]

Verification pairs (claim, cited paragraphs), built from the data (no model writes them):

- sentence claims: each supporting sentence, its leading pronoun replaced by the paragraph title
  ("He was inducted …" → "Neil Peart was inducted …"). Supported by its own paragraph; not supported by
  the distractor paragraph that shares most words with it; contradicted when a number or a name in it is
  changed (year + 3, or a name from a distractor title) and cited to its own paragraph.
- question claims (answers other than yes/no): "question: answer". Supported by the two gold
  paragraphs; not supported by the two distractors closest to the question, nor (claim with another
  question's answer) by the gold paragraphs. One gold + one distractor ("mixed") is reported apart: the
  claim needs both hops, so it counts as not supported.

Extractive relevance: every sentence of the 10 paragraphs is scored for the question. The threshold is set
so that 90% of "unanswerable" questions (each question with the next question's paragraphs) abstain; the
weights and the rule for citing a second passage (margin to the best sentence) maximize citation recall at paragraph
level with citation precision (cited paragraphs that are gold) >= 0.8 on the calibration half, then the
share of picked sentences that are supporting facts.

Prints one JSON document: the chosen constants and precision/recall on both halves. The extractive
relevance part (ranking, selection rule, grid search) is in bench/calibrate_relevance.py.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

from bench.hotpot import DEFAULT_DATA, DiskEmbedder, halves, load, paragraph_text  # noqa: E402

from ragkit.generation.extractive import ExtractiveGenerator  # noqa: E402
from ragkit.generation.sentences import content_terms, split_sentences  # noqa: E402
from ragkit.generation.verify import EmbedCache, Passage, Verifier  # noqa: E402

# the extractive relevance lives in a helper module; its names are importable from here as before
from bench.calibrate_relevance import (  # noqa: E402, F401
    ABSTAIN_TARGET,
    EXTRACTIVE_PRECISION_TARGET,
    MARGIN_SAME,
    MAX_SENTENCES,
    WEIGHT_GRID,
    abstain_threshold,
    calibrate_relevance,
    citation_metrics,
    rank,
    relevance_rows,
    select,
    unanswerable,
)

PRECISION_TARGET = 0.85  # verification
_PRONOUN = re.compile(r"^(He|She|It|They|His|Her|Its|Their)\b\s*")
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_NUM = re.compile(r"\b\d+\b")


def resolve_pronoun(sentence: str, title: str) -> str:
    match = _PRONOUN.match(sentence)
    if not match:
        return sentence
    word = match.group(1)
    subject = f"{title}'s" if word in ("His", "Her", "Its", "Their") else title
    return subject + " " + sentence[match.end() :]


def perturb(sentence: str, distractor_titles: list[str], title: str) -> str | None:
    """A contradicting variant: a changed year/number, else a name swapped for a distractor's."""
    year = _YEAR.search(sentence)
    if year:
        return sentence[: year.start()] + str(int(year.group(0)) + 3) + sentence[year.end() :]
    number = _NUM.search(sentence)
    if number:
        return sentence[: number.start()] + str(int(number.group(0)) + 1) + sentence[number.end() :]
    title_words = set(title.lower().split())
    for match in re.finditer(r"\b[A-Z][a-z]{2,}\b", sentence[1:]):
        word = match.group(0)
        if word.lower() in title_words:
            continue
        for other in distractor_titles:
            candidate = other.split()[0].strip("(),")
            if (
                candidate[:1].isupper()
                and candidate.lower() != word.lower()
                and candidate.lower() not in sentence.lower()
            ):
                start = match.start() + 1
                return sentence[:start] + candidate + sentence[start + len(word) :]
    return None


def overlap(a: str, b: str) -> float:
    ta, tb = set(content_terms(a)), set(content_terms(b))
    return len(ta & tb) / max(1, len(ta))


def verification_pairs(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    pairs: list[dict[str, Any]] = []
    answers = [r["answer"] for r in records if r["answer"].lower() not in ("yes", "no")]
    for rec in records:
        paragraphs = {title: paragraph_text(title, sents)[0] for title, sents in rec["context"]}
        gold = list(dict.fromkeys(t for t, _ in rec["supporting_facts"] if t in paragraphs))
        distractors = [t for t in paragraphs if t not in gold]
        sents = {title: s for title, s in rec["context"]}
        for title, idx in rec["supporting_facts"]:
            if title not in sents or idx >= len(sents[title]):
                continue
            claim = resolve_pronoun(sents[title][idx].strip(), title)
            if len(claim.split()) < 4:
                continue
            pairs.append({"kind": "sentence+own", "label": 1, "claim": claim, "cited": [paragraphs[title]]})
            if distractors:
                worst = max(distractors, key=lambda t: (overlap(claim, paragraphs[t]), t))
                pairs.append({"kind": "sentence+distractor", "label": 0, "claim": claim, "cited": [paragraphs[worst]]})
            changed = perturb(claim, distractors, title)
            if changed and changed != claim:
                pairs.append({"kind": "sentence-changed", "label": 0, "claim": changed, "cited": [paragraphs[title]]})
        answer = rec["answer"]
        if answer.lower() in ("yes", "no") or len(gold) < 2:
            continue
        claim = f"{rec['question'].rstrip('?').strip()}: {answer}."
        near = sorted(distractors, key=lambda t: (-overlap(rec["question"], paragraphs[t]), t))[:2]
        pairs.append({"kind": "qa+gold", "label": 1, "claim": claim, "cited": [paragraphs[t] for t in gold]})
        if len(near) == 2:
            pairs.append({"kind": "qa+distractors", "label": 0, "claim": claim, "cited": [paragraphs[t] for t in near]})
            pairs.append(
                {"kind": "qa+mixed", "label": 0, "claim": claim, "cited": [paragraphs[gold[0]], paragraphs[near[0]]]}
            )
        other = answers[(answers.index(answer) + 7) % len(answers)] if answer in answers else None
        if (
            other
            and other.lower() != answer.lower()
            and other.lower() not in " ".join(paragraphs[t] for t in gold).lower()
        ):
            swapped = f"{rec['question'].rstrip('?').strip()}: {other}."
            pairs.append({"kind": "qa-swapped", "label": 0, "claim": swapped, "cited": [paragraphs[t] for t in gold]})
    return pairs


def prefetch(cache: EmbedCache, records: list[dict[str, Any]], pairs: list[dict[str, Any]]) -> None:
    """Embed every sentence and claim in a few large batches (one call per text is far slower)."""
    texts: list[str] = []
    for rec in records:
        texts.append(" ".join(rec["question"].split()))
        for title, sents in rec["context"]:
            text, _ = paragraph_text(title, sents)
            texts += [" ".join(text[s:e].split()) for s, e in split_sentences(text)]
    texts += [" ".join(p["claim"].split()) for p in pairs]
    unique = list(dict.fromkeys(texts))
    started = time.time()
    for i in range(0, len(unique), 512):
        cache(unique[i : i + 512])
    print(f"embedded {len(unique)} texts in {time.time() - started:.0f} s", file=sys.stderr)


def featurize_pairs(pairs: list[dict[str, Any]], verifier: Verifier) -> None:
    for pair in pairs:
        passages = [Passage(i + 1, text) for i, text in enumerate(pair["cited"])]
        support = verifier.support(pair["claim"], passages)
        pair.update(cosine=support.cosine, lexical=support.lexical, consistent=support.consistent)


def pr(pred: np.ndarray, label: np.ndarray) -> dict[str, float]:
    tp = int((pred & label).sum())
    fp = int((pred & ~label).sum())
    fn = int((~pred & label).sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f, 4), "n": int(len(label))}


def verify_predict(
    pairs: list[dict[str, Any]], weight: float, threshold: float, consistency: bool = True
) -> np.ndarray:
    scores = np.array([weight * p["cosine"] + (1 - weight) * p["lexical"] for p in pairs])
    ok = np.array([p["consistent"] or not consistency for p in pairs])
    return (scores >= threshold) & ok


def calibrate_verify(calib: list[dict[str, Any]]) -> tuple[float, float]:
    main = [p for p in calib if p["kind"] != "qa+mixed"]
    label = np.array([p["label"] == 1 for p in main])
    best = (-1.0, 0.5, 0.6)
    for weight in np.arange(0.0, 1.01, 0.1):
        for threshold in np.arange(0.3, 0.96, 0.01):
            m = pr(verify_predict(main, weight, threshold), label)
            if m["precision"] >= PRECISION_TARGET + 0.02 and m["f1"] > best[0]:
                best = (m["f1"], round(float(weight), 2), round(float(threshold), 2))
    return best[1], best[2]


def verify_report(pairs: list[dict[str, Any]], weight: float, threshold: float) -> dict[str, Any]:
    main = [p for p in pairs if p["kind"] != "qa+mixed"]
    label = np.array([p["label"] == 1 for p in main])
    out: dict[str, Any] = {
        "all (mixed excluded)": pr(verify_predict(main, weight, threshold), label),
        "all (mixed included)": pr(
            verify_predict(pairs, weight, threshold), np.array([p["label"] == 1 for p in pairs])
        ),
        "without name/number check": pr(verify_predict(main, weight, threshold, consistency=False), label),
    }
    for kind in sorted({p["kind"] for p in pairs}):
        sub = [p for p in pairs if p["kind"] == kind]
        pred = verify_predict(sub, weight, threshold)
        out[kind] = {"n": len(sub), "verified_rate": round(float(pred.mean()), 4)}
    return out


def sentence_threshold_pr(rows: list[dict[str, Any]], weights: np.ndarray, threshold: float) -> dict[str, float]:
    scores = np.concatenate([r["feats"] @ weights for r in rows if len(r["n"])])
    labels = np.concatenate([r["labels"] for r in rows if len(r["n"])])
    return pr(scores >= threshold, labels)


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__, data=DEFAULT_DATA)
    args = parser.parse_args(argv)

    from ragkit.embedding import MiniLMEmbedder

    started = time.time()
    embedder = DiskEmbedder(MiniLMEmbedder())
    cache = EmbedCache(embedder)
    records = load(args.data)
    calib_records, test_records = halves(records)
    try:
        verifier = Verifier(cache)
        calib_pairs, test_pairs = verification_pairs(calib_records), verification_pairs(test_records)
        prefetch(cache, records, calib_pairs + test_pairs)
        embedder.save()
        featurize_pairs(calib_pairs, verifier)
        featurize_pairs(test_pairs, verifier)
        weight, threshold = calibrate_verify(calib_pairs)

        gen = ExtractiveGenerator(embedder=cache)
        calib_rows, test_rows = relevance_rows(calib_records, gen), relevance_rows(test_records, gen)
        calib_neg = relevance_rows(unanswerable(calib_records), gen)
        test_neg = relevance_rows(unanswerable(test_records), gen)
    finally:
        embedder.save()
    relevance = calibrate_relevance(calib_rows, calib_neg)
    weights = np.array([relevance[k] for k in ("COS", "LEX", "PASSAGE", "PASSAGE_LEX", "TYPE")])
    sel = (relevance["THRESHOLD"], relevance["OTHER_MARGIN"], relevance["MAX_PASSAGES"])
    report = {
        "data": str(args.data),
        "split": {"calibration": len(calib_records), "held_out": len(test_records)},
        "verify": {
            "constants": {"WEIGHT": weight, "THRESHOLD": threshold},
            "calibration": verify_report(calib_pairs, weight, threshold),
            "held_out": verify_report(test_pairs, weight, threshold),
        },
        "extractive": {
            "constants": relevance,
            "calibration": citation_metrics(rank(calib_rows, weights), *sel),
            "held_out": citation_metrics(rank(test_rows, weights), *sel),
            "unanswerable_abstained_calibration": citation_metrics(rank(calib_neg, weights), *sel)["abstained"],
            "unanswerable_abstained_held_out": citation_metrics(rank(test_neg, weights), *sel)["abstained"],
            "sentence_threshold_held_out": sentence_threshold_pr(test_rows, weights, sel[0]),
        },
        "seconds": round(time.time() - started, 1),
    }
    return harness.emit(report, args)


if __name__ == "__main__":
    raise SystemExit(main())
