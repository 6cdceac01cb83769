"""The main job on the embedded default, offline: index examples/docs, search, answer with citations.

Run with `make demo` (or `python examples/demo.py [--store DIR]`).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import ragkit

HERE = Path(__file__).parent
SEARCHES = ["rate limit for API tokens", "how to upgrade from version 2", "encryption of notes at rest"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", default=str(HERE / ".ragkit"), help="store directory")
    parser.add_argument("--generator", default=None, help="generator backend (default: the store's config)")
    args = parser.parse_args()

    kit = ragkit.open(args.store)
    started = time.perf_counter()
    report = kit.index([HERE / "docs"])
    print(f"indexed {HERE / 'docs'} in {time.perf_counter() - started:.1f}s: {report.to_dict()}")
    for failure in report.failed:
        print(f"  not indexed: {failure['error']}")

    for query in SEARCHES:
        print(f"\nsearch: {query}")
        for rank, hit in enumerate(kit.search(query, k=3), 1):
            c = hit.chunk
            where = Path(c.source).name + (f" p.{c.page}" if c.page else "") + (f" § {c.heading}" if c.heading else "")
            print(f"  {rank}. {hit.score:.3f}  {where}  [{c.span[0]}:{c.span[1]}]  {' '.join(c.text.split())[:90]}")

    try:
        from ragkit.generation.pipeline import Answerer  # noqa: F401
    except ImportError:
        return 0
    questions = [q for q in (HERE / "questions.txt").read_text().splitlines() if q.strip()]
    print(f"\n== answers from the default generator ({args.generator or kit.config.generator.name})")
    answer_all(kit, questions, args.generator)
    if args.generator is None and kit.config.generator.name != "local":
        print("\n== the same questions with the local model (SmolLM2-135M-Instruct, llama.cpp, CPU)")
        answer_all(kit, questions[:3], "local")
    return 0


def answer_all(kit: ragkit.Kit, questions: list[str], generator: str | None) -> None:
    """Ask each question and print its sentences with verified flags and the cited spans."""
    for question in questions:
        started = time.perf_counter()
        try:
            answer = kit.ask(question, generator=generator)
        except Exception as exc:  # e.g. the local runtime is not installed
            print(f"\nQ: {question}\n   {generator} generator unavailable: {exc}")
            return
        took = time.perf_counter() - started
        print(f"\nQ: {question}  ({answer.generator}, {took:.1f}s)")
        if answer.abstained:
            print(f"A: (abstained) {answer.answer}")
            continue
        if answer.short is not None and answer.short.text:
            mark = "verified" if answer.short.verified else "UNVERIFIED"
            refs = "".join(f"[{n}]" for n in answer.short.citations)
            print(f"Short answer: {answer.short.text} {refs}  <{mark}>")
            if answer.short.reason:
                print(f"   decided by: {answer.short.reason}")
        for sentence in answer.sentences:
            mark = "verified" if sentence.verified else "UNVERIFIED"
            refs = "".join(f"[{n}]" for n in sentence.citations)
            print(f"A: {sentence.text} {refs}  <{mark}>")
        for cit in answer.citations:
            page = f" p.{cit.page}" if cit.page else ""
            print(f"   [{cit.n}] {Path(cit.source).name}{page} [{cit.span[0]}:{cit.span[1]}] \"{cit.quote[:100]}\"")
        print(f"   grounded: {answer.grounded:.2f}")


if __name__ == "__main__":
    sys.exit(main())
