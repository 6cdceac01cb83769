"""Answer quality per offline backend on HotpotQA raw 200 (distractor setting).

Usage (from the repo root):

    .venv/bin/python bench/answers.py [--backends extractive,local] [--limit N] [--json OUT.json]
                                      [--openai-url URL --openai-model NAME]

Index: one pooled store of all questions' paragraphs (title + text, one document each, metadata
``qid``); each question retrieves with ``where={"qid": id}``, so it sees exactly its own 10 paragraphs (2
gold + 8 distractors), as in the distractor setting. One pooled store costs one embedding pass and one
index; 200 tiny stores would repeat the store set-up 200 times and measure nothing more.

Per backend: answer EM/F1 (official HotpotQA normalization; an abstention counts as the empty answer),
answer-in-text rate (the normalized gold answer occurs in the answer: fairer to sentence answers),
citation precision (cited paragraphs that are gold, micro-averaged) and recall (gold paragraphs cited,
of 2), grounded rate (mean ``grounded``), abstention rate, seconds per question (retrieval + generation
+ citations + verification; the store is built before the clock starts). Results for all questions and for
the held-out half (questions 101-200; thresholds were calibrated on 1-100).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads libgomp (see ragkit/generation/local.py)

import hashlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

from bench.hotpot import DEFAULT_DATA, DiskEmbedder, exact_match, f1, halves, load, normalize_answer, paragraph_text  # noqa: E402

from ragkit.generation.citations import strip_markers  # noqa: E402
from ragkit.types import Block, Document  # noqa: E402


def documents(records: list[dict[str, Any]]) -> list[Document]:
    docs = []
    for rec in records:
        for i, (title, sentences) in enumerate(rec["context"]):
            text, _ = paragraph_text(title, sentences)
            docs.append(
                Document(
                    doc_id=f"{rec['_id']}:{i}",
                    source=f"hotpotqa/{rec['_id']}/{i:02d}.txt",
                    text=text,
                    content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                    format="text",
                    blocks=[Block("text", 0, len(text), heading_path=[title])],
                    metadata={"qid": rec["_id"], "title": title},
                )
            )
    return docs


def open_kit(store: Path, records: list[dict[str, Any]]) -> Any:
    import ragkit

    kit = ragkit.open(store)
    plain = kit.embedder
    kit.embedder = DiskEmbedder(plain)  # paragraph vectors cached across runs: indexing is not measured
    started = time.time()
    report = kit.add_documents(documents(records))
    kit.embedder.save()
    kit.embedder = plain  # answering (query, sentences, verification) embeds for real: it is measured
    print(
        f"indexed {report.added} new paragraphs ({report.chunks} chunks) in {time.time() - started:.0f} s",
        file=sys.stderr,
    )
    return kit


def score(rec: dict[str, Any], answer: Any, seconds: float) -> dict[str, Any]:
    gold_titles = {t for t, _ in rec["supporting_facts"]}
    cited_titles = set()
    hits = {h.chunk.chunk_id: h.chunk for h in answer.hits}
    for citation in answer.citations:
        chunk = hits.get(citation.chunk_id)
        title = (chunk.metadata.get("title") if chunk is not None and chunk.metadata else None) or citation.heading
        cited_titles.add(title)
    prediction = "" if answer.abstained else strip_markers(answer.answer)
    return {
        "id": rec["_id"],
        "em": exact_match(prediction, rec["answer"]),
        "f1": f1(prediction, rec["answer"]),
        "answer_in_text": float(bool(prediction) and normalize_answer(rec["answer"]) in normalize_answer(prediction)),
        "cited": len(cited_titles),
        "cited_gold": len(cited_titles & gold_titles),
        "gold": len(gold_titles),
        "grounded": answer.grounded,
        "abstained": answer.abstained,
        "seconds": seconds,
        "answer": answer.answer,
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    if not n:
        return {}
    cited = sum(r["cited"] for r in rows)
    return {
        "questions": n,
        "em": round(sum(r["em"] for r in rows) / n, 4),
        "f1": round(sum(r["f1"] for r in rows) / n, 4),
        "answer_in_text": round(sum(r["answer_in_text"] for r in rows) / n, 4),
        "citation_precision": round(sum(r["cited_gold"] for r in rows) / cited, 4) if cited else None,
        "citation_recall": round(sum(r["cited_gold"] for r in rows) / sum(r["gold"] for r in rows), 4),
        "grounded_rate": round(sum(r["grounded"] for r in rows) / n, 4),
        "abstained": round(sum(r["abstained"] for r in rows) / n, 4),
        "seconds_per_question": round(sum(r["seconds"] for r in rows) / n, 3),
    }


def run_backend(kit: Any, name: str, records: list[dict[str, Any]], held_out: set[str]) -> dict[str, Any]:
    gen = kit.runtime.answers.generators.get(name)
    load_started = time.time()
    if hasattr(gen, "load"):
        gen.load()
    load_seconds = time.time() - load_started
    rows = []
    for i, rec in enumerate(records, 1):
        started = time.time()
        answer = kit.ask(rec["question"], generator=name, where={"qid": rec["_id"]}, k=10)
        rows.append(score(rec, answer, time.time() - started))
        if i % 20 == 0:
            print(f"{name}: {i}/{len(records)} {json.dumps(summarize(rows))}", file=sys.stderr)
    return {
        "all": summarize(rows),
        "held_out": summarize([r for r in rows if r["id"] in held_out]),
        "model_load_seconds": round(load_seconds, 2),
        "examples": [{k: r[k] for k in ("id", "answer", "f1", "grounded")} for r in rows[:3]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__, data=DEFAULT_DATA)
    parser.add_argument("--backends", default="extractive,local")
    parser.add_argument("--limit", type=int, default=None, help="First N questions only.")
    parser.add_argument("--store", type=Path, default=None, help="Reuse this store (default: a temporary one).")
    parser.add_argument("--openai-url", default=None, help="Also run the openai backend against this server.")
    parser.add_argument("--openai-model", default="")
    args = parser.parse_args(argv)

    records = load(args.data)
    held_out = {r["_id"] for r in halves(records)[1]}
    if args.limit:
        records = records[: args.limit]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if args.openai_url:
        backends.append("openai")
    with tempfile.TemporaryDirectory(prefix="ragkit-bench-") as tmp:
        kit = open_kit(args.store or Path(tmp) / "store", records)
        if args.openai_url:
            kit.config.generator.base_url = args.openai_url
            kit.config.generator.model = args.openai_model
        report: dict[str, Any] = {
            "data": str(args.data),
            "questions": len(records),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg": os.getloadavg()},
            "backends": {},
        }
        for name in backends:
            report["backends"][name] = run_backend(kit, name, records, held_out)
            harness.log(f"{name}: {json.dumps(report['backends'][name]['all'])}")
        report["machine"]["load_avg_end"] = os.getloadavg()
        kit.close()
    return harness.emit(report, args)


if __name__ == "__main__":
    raise SystemExit(main())
