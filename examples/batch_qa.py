"""Batch QA over a folder: index it, answer every question in a file, write a CSV report
(question, short answer, answer, grounded share, abstained, cited files with pages, seconds).

    python examples/batch_qa.py --docs examples/docs --questions examples/questions.txt --out report.csv

For resumable runs over thousands of questions (re-runs skip answered ids) use `ragkit batch`.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import ragkit

HERE = Path(__file__).parent
FIELDS = ["question", "short", "answer", "grounded", "abstained", "sources", "seconds"]


def cited(answer: ragkit.Answer) -> str:
    """``[1] api.html p.2; [2] faq.txt`` for the CSV."""
    return "; ".join(f"[{c.n}] {Path(c.source).name}" + (f" p.{c.page}" if c.page else "") for c in answer.citations)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", default=str(HERE / "docs"))
    parser.add_argument("--questions", default=str(HERE / "questions.txt"), help="one question a line")
    parser.add_argument("--out", default="report.csv")
    parser.add_argument("--store", default=str(HERE / ".ragkit"))
    parser.add_argument("--generator", default=None)
    args = parser.parse_args()

    kit = ragkit.open(args.store)
    kit.index([args.docs])
    questions = [q.strip() for q in Path(args.questions).read_text(encoding="utf-8").splitlines() if q.strip()]
    with open(args.out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        for question in questions:
            started = time.perf_counter()
            answer = kit.ask(question, generator=args.generator)
            writer.writerow({
                "question": question, "short": answer.short.text if answer.short else "", "answer": answer.answer, "grounded": answer.grounded,
                "abstained": answer.abstained, "sources": cited(answer),
                "seconds": round(time.perf_counter() - started, 2),
            })
    print(f"{len(questions)} questions answered -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
