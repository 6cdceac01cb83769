"""Multi-hop QA files as a retrieval benchmark: pooled paragraphs, supporting-paragraph recall@k.

Formats (one record per question; a ``.json`` list or JSON lines):
- HotpotQA / 2WikiMultihopQA original: ``context`` = [[title, [sentences]]], ``supporting_facts`` =
  [[title, sentence index]]; a paragraph is supporting when a supporting fact names its title.
- IRCoT processed: ``contexts`` = [{title, paragraph_text, is_supporting}], ``question_text``.
- MuSiQue: ``paragraphs`` = [{title, paragraph_text, is_supporting}], ``question``.
All given files pool into one corpus deduplicated by (title, whitespace-normalized text).
Gold answers (:func:`answers_of`) and question types (:func:`type_of`) ride along for ``ragkit eval qa``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragkit.eval.beir import read_jsonl, to_document
from ragkit.types import Document

if TYPE_CHECKING:
    from ragkit.kit import Kit


@dataclass
class Paragraph:
    """One pooled paragraph; ``pid`` is stable across files and runs."""

    pid: str
    title: str
    text: str


@dataclass
class Question:
    """A question with the ids of its supporting paragraphs, its gold answer and aliases (``answers``,
    the first is the answer itself) and its type (``qtype``, see :func:`type_of`)."""

    qid: str
    text: str
    gold: list[str] = field(default_factory=list)
    source: str = ""
    answers: list[str] = field(default_factory=list)
    qtype: str = "unknown"


def paragraph_id(title: str, text: str) -> str:
    """Stable id of a paragraph: a hash of its title and whitespace-normalized text."""
    key = f"{title.strip()}\x00{' '.join(text.split())}"
    return "p" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("r", encoding="utf-8") as fh:
        head = fh.read(1)
        while head and head.isspace():
            head = fh.read(1)
    if head == "[":
        yield from json.loads(path.read_text(encoding="utf-8"))
    else:
        yield from read_jsonl(path)


def parse_record(record: dict[str, Any]) -> tuple[str, str, list[tuple[str, str, bool]]]:
    """(question id, question, [(title, text, is_supporting)]) of one record in any supported format."""
    if "context" in record and "supporting_facts" in record:  # HotpotQA / 2Wiki original
        supporting = {str(t) for t, *_ in record["supporting_facts"]}
        paragraphs = []
        for title, sentences in record["context"]:
            text = "".join(sentences) if isinstance(sentences, list) else str(sentences)
            paragraphs.append((str(title), text, str(title) in supporting))
        return str(record.get("_id", record.get("id", ""))), record["question"], paragraphs
    for key in ("contexts", "paragraphs"):  # IRCoT processed, MuSiQue
        if key in record:
            paragraphs = [
                (str(p.get("title", "")), p.get("paragraph_text", p.get("text", "")), bool(p.get("is_supporting")))
                for p in record[key]
            ]
            qid = record.get("question_id", record.get("id", record.get("_id", "")))
            question = record.get("question_text", record.get("question", ""))
            return str(qid), question, paragraphs
    raise ValueError(f"unknown multi-hop record format (keys: {', '.join(sorted(record))})")


def answers_of(record: dict[str, Any]) -> list[str]:
    """The gold answer and its aliases, deduplicated, in order: HotpotQA / 2Wiki ``answer`` (+
    ``answer_aliases`` / ``aliases`` where present), MuSiQue ``answer`` + ``answer_aliases``, IRCoT
    ``answers_objects[*].spans`` (an object's ``number`` when it has no span). Empty when none."""
    found: list[Any] = [record.get("answer")]
    for key in ("answer_aliases", "aliases"):
        value = record.get(key)
        found += value if isinstance(value, list) else [value]
    for obj in record.get("answers_objects") or []:
        if isinstance(obj, dict):
            spans = [s for s in obj.get("spans") or [] if isinstance(s, str) and s.strip()]
            found += spans or [obj.get("number")]
    out: list[str] = []
    for value in found:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            text = " ".join(str(value).split())
            if text and text not in out:
                out.append(text)
    return out


_HOPS = re.compile(r"^([2-9])hop")


def type_of(record: dict[str, Any], answers: list[str] | None = None) -> str:
    """The question's type: "yes/no" when a gold answer is yes or no, else the record's ``type``
    (HotpotQA: bridge, comparison; 2Wiki: comparison, bridge_comparison, inference, compositional),
    else MuSiQue's hop count from its id ("2hop", "3hop", "4hop"), else "unknown"."""
    answers = answers_of(record) if answers is None else answers
    if any(a.strip().lower().rstrip(".") in ("yes", "no") for a in answers):
        return "yes/no"
    kind = record.get("type")
    if isinstance(kind, str) and kind.strip():
        return kind.strip()
    qid = str(record.get("id", record.get("question_id", record.get("_id", ""))))
    hops = _HOPS.match(qid)
    return f"{hops.group(1)}hop" if hops else "unknown"


def load_multihop(paths: Iterable[str | Path]) -> tuple[list[Paragraph], list[Question]]:
    """Pool every file's paragraphs (deduplicated) and collect its questions with supporting ids."""
    pool: dict[str, Paragraph] = {}
    questions: list[Question] = []
    for path in map(Path, paths):
        for n, record in enumerate(_records(path)):
            try:
                qid, text, paragraphs = parse_record(record)
            except (ValueError, TypeError, KeyError) as exc:
                raise ValueError(f"{path}: record {n + 1}: {exc}") from exc
            gold: list[str] = []
            for title, body, supporting in paragraphs:
                pid = paragraph_id(title, body)
                pool.setdefault(pid, Paragraph(pid, title.strip(), " ".join(body.split())))
                if supporting and pid not in gold:
                    gold.append(pid)
            answers = answers_of(record)
            questions.append(
                Question(qid or f"{path.name}:{n}", text, gold, path.name, answers, type_of(record, answers))
            )
    return list(pool.values()), questions


def paragraph_documents(paragraphs: Iterable[Paragraph]) -> Iterator[Document]:
    """Each paragraph as a titled Document with its pooled id."""
    for p in paragraphs:
        yield to_document(p.pid, p.title, p.text)


def evaluate_multihop(
    kit: Kit,
    questions: Sequence[Question],
    mode: str | None = None,
    compare: Sequence[str] = (),
    ks: Sequence[int] = (2, 5),
    latency_queries: int | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Mean share of supporting paragraphs in the top k (HippoRAG's recall@k) for the store's
    paragraphs; the top level is ``mode`` (default: the store's), others go under ``"modes"``."""
    from ragkit.retrieval.metrics import ndcg_at_k, recall_share
    from ragkit.eval.runner import DocMap, doc_rankings, latency, round_metrics, variant

    judged = [q for q in questions if q.gold]
    texts = [q.text for q in judged]
    docs = DocMap(kit.store)
    base = kit.config.retrieval

    def run(name: str) -> dict[str, Any]:
        v = variant(name, base)
        ranked = doc_rankings(kit, texts, v, docs, progress=progress)
        metrics: dict[str, Any] = {
            f"recall@{k}": sum(recall_share(r, q.gold, k) for r, q in zip(ranked, judged)) / max(len(judged), 1)
            for k in ks
        }
        metrics["ndcg@10"] = sum(ndcg_at_k(r, dict.fromkeys(q.gold, 1)) for r, q in zip(ranked, judged)) / max(len(judged), 1)
        metrics["questions"] = len(judged)
        metrics.update(latency(kit, texts, v, limit=latency_queries))
        return {"name": name, **v.describe(), **round_metrics(metrics)}

    top = mode or "hybrid"
    result = run(top)
    others = [m for m in dict.fromkeys(compare) if m != top]
    if others:
        result["modes"] = {m: run(m) for m in others}
    return result
