"""``ragkit ask`` and ``ragkit batch``: answers with verified citations."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ragkit.cli.common import (
    DEFAULT_STORE, AsOpt, ExecutorOpt, JsonOpt, QuietOpt, StoreOpt, check_executor, emit, fail, parse_pairs,
    principal_of, stderr,
)
from ragkit.config import GeneratorConfig
from ragkit.generation import GENERATORS

_DEFAULT = GeneratorConfig().name
GENERATOR_HELP = (
    f"Generator: {' | '.join(GENERATORS)}. Default: the store's generator.name, '{_DEFAULT}' unless set "
    "(ragkit config set generator.name local)."
)
GeneratorOpt = Annotated[Optional[str], typer.Option("--generator", "-g", help=GENERATOR_HELP, show_default=False)]
WhereOpt = Annotated[
    Optional[list[str]], typer.Option("--where", help="Filter key=value (metadata, source_prefix, format, kind).")
]
KOpt = Annotated[Optional[int], typer.Option("-k", help="Passages to retrieve (default: config retrieval.k).")]


def short_lines(short: dict[str, Any] | None) -> list[str]:
    """``Short answer: Rush [2]  (verified)`` and the facts that decided it, or nothing."""
    if not short or not short.get("text"):
        return []
    marks = "".join(f"[{n}]" for n in short.get("citations") or [])
    label = "verified" if short.get("verified") else "UNVERIFIED"
    lines = [f"Short answer: {short['text']}" + (f" {marks}" if marks else "") + f"  ({label})"]
    if short.get("reason"):
        lines.append(f"  decided by: {short['reason']}")
    return lines + [""]


def render(answer: Any, with_answer: bool = True) -> str:
    """Human-readable answer: the short answer first, every sentence marked verified or UNVERIFIED, then
    the cited sources.

    ``with_answer=False`` leaves out the answer line (already streamed).
    """
    data = answer.to_dict() if hasattr(answer, "to_dict") else answer
    if data["abstained"]:
        return f"{data['answer']}\n(abstained: the retrieved passages do not support an answer)"
    lines = short_lines(data.get("short"))
    lines += [data["answer"], ""] if with_answer else []
    for sentence in data["sentences"]:
        marks = "".join(f"[{n}]" for n in sentence["citations"]) or "[no source]"
        label = "verified  " if sentence["verified"] else "UNVERIFIED"
        lines.append(f"  {label} {marks} {sentence['text']}")
    if data["citations"]:
        lines += ["", "Sources:"]
        for c in data["citations"]:
            where = [c["source"]]
            if c.get("page") is not None:
                where.append(f"page {c['page']}")
            if c.get("heading"):
                where.append(c["heading"])
            where.append(f"chars {c['span'][0]}-{c['span'][1]}")
            lines.append(f"  [{c['n']}] {', '.join(where)}")
            lines.append(f'      "{c["quote"]}"')
    total = len([s for s in data["sentences"]])
    verified = sum(1 for s in data["sentences"] if s["verified"])
    lines += ["", f"grounded: {data['grounded']:.0%} ({verified}/{total} sentences verified)"]
    if verified < total:
        lines.append("warning: UNVERIFIED sentences are not supported by the passages they cite")
    return "\n".join(lines)


def ask_command(
    question: Annotated[str, typer.Argument(help="The question.")],
    generator: GeneratorOpt = None,
    stream: Annotated[
        bool, typer.Option("--stream", help="Print the answer as it is generated (stderr with --json).")
    ] = False,
    where: WhereOpt = None,
    k: KOpt = None,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    as_: AsOpt = None,
) -> None:
    """Answer a question from the store, citing and verifying every sentence."""
    import ragkit
    from ragkit.access import Scope
    from ragkit.generation import GeneratorError

    filters = Scope.of(parse_pairs(where, "--where") or None, principal_of(as_))
    if generator is not None and generator not in GENERATORS:
        fail(f"unknown generator {generator!r}; valid: {', '.join(GENERATORS)}")
    kit = ragkit.open(store)
    on_token = None
    if stream:
        target = sys.stderr if json_out else sys.stdout
        if not (json_out and quiet):

            def on_token(piece: str) -> None:
                target.write(piece)
                target.flush()

    try:
        answer = kit.ask(question, generator=generator, where=filters, k=k, on_token=on_token)
    except (GeneratorError, ValueError, OSError) as exc:
        fail(str(exc))
    if stream and on_token is not None:
        (sys.stderr if json_out else sys.stdout).write("\n\n")
    emit(answer.to_dict(), json_out, render(answer, with_answer=not (stream and on_token is not None)))


def batch_command(
    docs_dir: Annotated[Path, typer.Argument(help="Folder of documents to index (incrementally) first.")],
    questions_file: Annotated[
        Path, typer.Argument(help="Questions: .txt (one a line), .jsonl (question, id) or .csv.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output: .jsonl or .csv, one record per question id.")],
    generator: GeneratorOpt = None,
    summary: Annotated[
        Optional[Path], typer.Option("--summary", help="Write the summary (JSON) here instead of stderr.")
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Re-ask questions recorded with an error.")
    ] = False,
    where: WhereOpt = None,
    k: KOpt = None,
    executor: ExecutorOpt = None,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    as_: AsOpt = None,
) -> None:
    """Index DOCS_DIR, answer every question in QUESTIONS_FILE and write the answers to OUT.

    Re-running skips question ids already in OUT; a failing question is recorded with its error.
    Every question is answered as one principal (--as).
    """
    import ragkit
    from ragkit.batch import BatchError, check_out, load_questions, run_batch
    from ragkit.cli.common import progress_bar
    from ragkit.generation import GeneratorError

    if generator is not None and generator not in GENERATORS:
        fail(f"unknown generator {generator!r}; valid: {', '.join(GENERATORS)}")
    check_executor(executor)
    try:
        check_out(out)
        load_questions(questions_file)
        if not docs_dir.is_dir():
            raise BatchError(f"{docs_dir}: documents folder not found")
    except BatchError as exc:
        fail(str(exc))
    kit = ragkit.open(store)
    try:
        with progress_bar(quiet) as on_progress:
            report = run_batch(
                kit,
                docs_dir,
                questions_file,
                out,
                generator=generator,
                k=k,
                where=parse_pairs(where, "--where") or None,
                principal=principal_of(as_),
                retry_failed=retry_failed,
                progress=on_progress,
                executor=executor,
            )
    except (BatchError, GeneratorError, ValueError, OSError, ImportError) as exc:
        fail(str(exc))
    if summary is not None:
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if json_out:
        emit(report, True)
    elif summary is None:
        console = stderr(quiet)
        spq = report["seconds_per_question"]
        grounded = report["mean_grounded"]
        console.print(
            f"{report['asked']} asked ({report['answered']} answered, {report['abstained']} abstained, "
            f"{report['failed']} failed), {report['skipped']} skipped (already in {out}); "
            f"mean grounded {'-' if grounded is None else f'{grounded:.2f}'}; "
            f"{'-' if spq is None else f'{spq:.2f}'} s/question",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add ``ask`` and ``batch`` to the ``ragkit`` app."""
    app.command("ask")(ask_command)
    app.command("batch")(batch_command)
