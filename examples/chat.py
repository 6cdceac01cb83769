"""A terminal chatbot over a store: multi-turn (follow-ups are rewritten with the history by Kit.chat),
answers streamed, citations shown with file and page.

    python examples/chat.py                       # indexes examples/docs into examples/.ragkit first
    python examples/chat.py --store .ragkit --no-index
    printf 'Which port?\\nIs it encrypted?\\n' | python examples/chat.py   # one question a line

Type a question, Enter; an empty line or Ctrl-D quits; /reset forgets the conversation.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import ragkit

HERE = Path(__file__).parent


def show_sources(answer: ragkit.Answer) -> None:
    """The short answer (when there is one), then the numbered citations: file, page, heading and the
    quoted words."""
    if answer.short is not None and answer.short.text:
        flag = "" if answer.short.verified else "  (UNVERIFIED)"
        print(f"  short answer: {answer.short.text} {''.join(f'[{n}]' for n in answer.short.citations)}{flag}")
    for c in answer.citations:
        where = Path(c.source).name + (f", page {c.page}" if c.page else "") + (f" — {c.heading}" if c.heading else "")
        print(f"  [{c.n}] {where}: \"{c.quote[:120]}\"")
    if answer.abstained:
        print("  (no passage in the documents answers this)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=str(HERE / ".ragkit"), help="store directory")
    parser.add_argument("--docs", default=str(HERE / "docs"), help="folder indexed (incrementally) at start")
    parser.add_argument("--no-index", action="store_true", help="use the store as it is")
    parser.add_argument("--generator", default=None, help="generator backend (default: the store's config)")
    args = parser.parse_args()

    kit = ragkit.open(args.store)
    if not args.no_index:
        kit.index([args.docs])
    history: list[dict[str, str]] = []
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            print("you> ", end="", flush=True)
        line = sys.stdin.readline()
        question = line.strip()
        if not question:
            return 0
        if question == "/reset":
            history.clear()
            continue
        if not interactive:
            print(f"you> {question}")
        print("ragkit> ", end="", flush=True)
        answer = kit.chat(history, question, generator=args.generator, on_token=lambda t: print(t, end="", flush=True))
        print()
        show_sources(answer)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]


if __name__ == "__main__":
    sys.exit(main())
