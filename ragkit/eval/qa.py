"""Answer quality on multi-hop QA files (``ragkit eval qa``): exact match, token F1, answer-in-text,
citation precision / recall against the supporting paragraphs, abstentions and seconds per question,
overall and per question type, and how often comparison and yes/no questions are decided when all
their evidence was retrieved.

The metrics are pure functions of strings and id lists; :func:`evaluate_qa` asks a Kit each question
(``kit.ask``, the SDK entry point ``ragkit ask`` uses) and scores what it answered.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import re
import string
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragkit.generation.citations import strip_markers

if TYPE_CHECKING:
    from ragkit.eval.multihop import Question
    from ragkit.kit import Kit
    from ragkit.types import Answer

DECIDED_TYPES = ("comparison", "yes/no")  # the types decided_with_evidence counts
EVIDENCE_K = 5  # supporting paragraphs must all be among this many top hits
_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


# -- metrics ----------------------------------------------------------------------------------------------
def normalize_answer(text: str) -> str:
    """SQuAD v1.1's normalization, as its official evaluation script (and HotpotQA's) defines it:
    lowercase, drop punctuation, drop the articles a / an / the, collapse whitespace."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _f1_one(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction), normalize_answer(gold)
    # HotpotQA's official rule on top of SQuAD's token F1: a yes / no / noanswer on either side scores only
    # when both are the same (so "yes it is" earns nothing against "yes")
    if (pred in ("yes", "no", "noanswer") or ref in ("yes", "no", "noanswer")) and pred != ref:
        return 0.0
    common = Counter(pred.split()) & Counter(ref.split())
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred.split()), same / len(ref.split())
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when the normalized prediction equals the normalized gold answer or one of its aliases."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in golds))


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """SQuAD token F1 of the normalized texts, the best over the gold answer and its aliases."""
    return max((_f1_one(prediction, g) for g in golds), default=0.0)


def answer_in(text: str, golds: Sequence[str]) -> float:
    """1.0 when a normalized gold answer (or alias) occurs in the normalized ``text`` as whole tokens
    ("no" is not found in "not"); fairer than EM to sentence answers."""
    haystack = f" {normalize_answer(text)} "
    return float(any(n and f" {n} " in haystack for n in map(normalize_answer, golds)))


def citation_scores(cited: Iterable[str], supporting: Iterable[str]) -> tuple[float | None, float]:
    """(precision, recall) of the distinct cited paragraph ids against the supporting ones; precision is
    None when nothing is cited, recall is 0.0 then (and 0.0 when there is no supporting paragraph)."""
    cited_set, gold = set(cited), set(supporting)
    hit = len(cited_set & gold)
    precision = hit / len(cited_set) if cited_set else None
    return precision, (hit / len(gold) if gold else 0.0)


def evidence_complete(hit_docs: Sequence[str], supporting: Iterable[str], k: int = EVIDENCE_K) -> bool:
    """Whether every supporting paragraph is among the first ``k`` hits (False without supporting ones)."""
    gold = set(supporting)
    return bool(gold) and gold <= set(hit_docs[:k])


def _short(answer: Answer) -> str:
    return answer.short.text.strip() if answer.short is not None else ""


def scored_text(answer: Answer) -> str:
    """The text EM and F1 score: ``answer.short.text`` when there is a non-empty short answer, else
    ``answer.answer`` without citation markers; "" for an abstention."""
    if answer.abstained:
        return ""
    return _short(answer) or strip_markers(answer.answer)


def full_text(answer: Answer) -> str:
    """The text ``answer_in`` searches: the short answer and the whole answer text, concatenated."""
    if answer.abstained:
        return ""
    return f"{_short(answer)} {strip_markers(answer.answer)}".strip()


# -- one question -----------------------------------------------------------------------------------------
@dataclass
class Scored:
    """One question's scores; ``precision`` is None when the answer cites nothing, ``complete`` whether
    all its supporting paragraphs were among the top-5 hits."""

    qid: str
    question: str
    qtype: str
    golds: list[str]
    predicted: str
    em: float
    f1: float
    answer_in: float
    precision: float | None
    recall: float
    abstained: bool
    seconds: float
    complete: bool = False
    cited: list[str] = field(default_factory=list)
    short: bool = False  # the answer has a short answer (the question was decided)
    short_verified: bool = False


def score_answer(
    question: Question, answer: Answer, seconds: float, doc_of: Mapping[str, str]
) -> Scored:
    """Score ``answer`` to ``question``; ``doc_of`` maps chunk ids (of hits and citations) to paragraph ids."""
    cited = list(dict.fromkeys(doc_of[c.chunk_id] for c in answer.citations if c.chunk_id in doc_of))
    precision, recall = citation_scores(cited, question.gold)
    predicted = scored_text(answer)
    hit_docs = [h.chunk.doc_id for h in answer.hits]
    return Scored(
        qid=question.qid, question=question.text, qtype=question.qtype, golds=list(question.answers),
        predicted=predicted, em=exact_match(predicted, question.answers), f1=token_f1(predicted, question.answers),
        answer_in=answer_in(full_text(answer), question.answers), precision=precision, recall=recall,
        abstained=answer.abstained, seconds=seconds, complete=evidence_complete(hit_docs, question.gold), cited=cited,
        short=bool(_short(answer)) and not answer.abstained,
        short_verified=bool(_short(answer)) and answer.short is not None and answer.short.verified,
    )


# -- aggregates -------------------------------------------------------------------------------------------
def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def summarize(rows: Sequence[Scored]) -> dict[str, Any]:
    """Means over ``rows``: em, f1, answer_in, citation recall, abstained, s_per_question; citation
    precision over the rows that cite something (``cited``); None where there is nothing to average."""
    citing = [r.precision for r in rows if r.precision is not None]
    return {
        "em": _mean([r.em for r in rows]),
        "f1": _mean([r.f1 for r in rows]),
        "answer_in": _mean([r.answer_in for r in rows]),
        "citation_precision": _mean(citing),
        "citation_recall": _mean([r.recall for r in rows]),
        "abstained": _mean([float(r.abstained) for r in rows]),
        "s_per_question": _mean([r.seconds for r in rows]),
        "short": _mean([float(r.short) for r in rows]),
        "short_verified": _mean([float(r.short_verified) for r in rows if r.short]),
        "questions": len(rows),
        "cited": len(citing),
    }


def decided_with_evidence(rows: Sequence[Scored]) -> dict[str, Any]:
    """Comparison and yes/no questions whose supporting paragraphs are all among the top-5 hits: how many
    (``questions``), how many got a short answer (``decided``: not abstained) and the ``share`` (None when
    none)."""
    eligible = [r for r in rows if r.qtype in DECIDED_TYPES and r.complete]
    decided = sum(1 for r in eligible if r.short)
    return {"share": _mean([float(r.short) for r in eligible]), "decided": decided, "questions": len(eligible),
            "types": list(DECIDED_TYPES), "k": EVIDENCE_K}


def examples(rows: Sequence[Scored], n: int = 3) -> dict[str, list[dict[str, Any]]]:
    """The ``n`` worst and ``n`` best questions by F1 (then answer_in), with gold and predicted answers
    (fewer when there are under ``2 n`` questions: no question is in both)."""
    def show(r: Scored) -> dict[str, Any]:
        return {"qid": r.qid, "question": r.question, "type": r.qtype, "gold": r.golds, "predicted": r.predicted,
                "f1": round(r.f1, 4), "answer_in": r.answer_in, "abstained": r.abstained}

    order = sorted(rows, key=lambda r: (r.f1, r.answer_in))
    worst = min(n, (len(order) + 1) // 2)  # the two lists never share a question
    return {"worst": [show(r) for r in order[:worst]], "best": [show(r) for r in order[worst:][::-1][:n]]}


def report(rows: Sequence[Scored], generator: str, mode: str, n_examples: int = 3) -> dict[str, Any]:
    """The whole result: the overall figures, ``by_type``, ``decided_with_evidence`` and ``examples``."""
    types = sorted({r.qtype for r in rows})
    return {
        **summarize(rows),
        "generator": generator,
        "mode": mode,
        "by_type": {t: summarize([r for r in rows if r.qtype == t]) for t in types},
        "decided_with_evidence": decided_with_evidence(rows),
        "examples": examples(rows, n_examples),
    }


# -- the run ----------------------------------------------------------------------------------------------
def evaluate_qa(
    kit: Kit,
    questions: Sequence[Question],
    generator: str | None = None,
    mode: str | None = None,
    limit: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Ask the kit every question that has a gold answer (the first ``limit``, in file order) with
    ``generator`` (default: the store's) under retrieval ``mode`` (a ``ragkit.eval.runner`` variant;
    default: the store's), time each ``kit.ask`` and score the answers (:func:`report`)."""
    from ragkit.eval.runner import DocMap, using, variant

    asked = [q for q in questions if q.answers]
    if limit is not None:
        asked = asked[: max(limit, 0)]
    config = variant(mode, kit.config.retrieval).config if mode else kit.config.retrieval
    docs = DocMap(kit.store)
    rows: list[Scored] = []
    with using(kit, config):
        for i, question in enumerate(asked):
            t0 = time.perf_counter()
            answer = kit.ask(question.text, generator=generator)
            seconds = time.perf_counter() - t0
            known = {h.chunk.chunk_id: h.chunk.doc_id for h in answer.hits}
            missing = [c.chunk_id for c in answer.citations if c.chunk_id not in known]
            doc_of = {**docs(missing), **known} if missing else known
            rows.append(score_answer(question, answer, seconds, doc_of))
            if progress:
                progress("qa", i + 1, len(asked))
    name = generator or kit.config.generator.name
    return report(rows, name, mode or config.mode)
