"""Batch QA: index a folder, answer a file of questions, write one record per question id.

Questions: ``.txt`` (one per line), ``.jsonl`` (``question`` and optional ``id``) or ``.csv`` (a
``question`` column, optional ``id``; without a header row the first column is the question). A
question without an id gets one derived from its text (``q-`` + 12 hex digits of its SHA-256), so
editing, inserting or reordering lines never pairs an answer with another question. Output: ``.jsonl``
(the ``ask`` JSON plus ``id`` and ``question``) or ``.csv`` (the same, nested fields as JSON strings).
Records are appended and flushed one by one, so an interrupted run loses nothing; a re-run skips ids
already answered for the same question text, re-asks an id whose question text changed, and
(``retry_failed``) those recorded with an error. A failing question is recorded with its ``error`` and
never stops the batch.

With ``executor`` ``ray`` (or ``ray:auto``, ``ray://HOST:PORT``) the folder is indexed on Ray and the
questions are answered by Ray actors, each holding one generator and reading the store; the driver
writes each record as it arrives (so records may be in another order than the questions), and a
re-run resumes the same way.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from ragkit.access import Scope, Who
from ragkit.kit import Kit
from ragkit.types import Answer

Progress = Callable[[str, int, "int | None"], None]
OUT_FORMATS = (".jsonl", ".csv")
CSV_FIELDS = (
    "id",
    "question",
    "answer",
    "abstained",
    "grounded",
    "generator",
    "sentences",
    "citations",
    "error",
    "seconds",
)


class BatchError(ValueError):
    """A batch input or output file is unusable (the message names it and the problem)."""


def question_id(question: str) -> str:
    """The id of a question that has none: stable under edits to other lines."""
    return "q-" + hashlib.sha256(" ".join(question.split()).encode()).hexdigest()[:12]


def load_questions(path: str | Path) -> list[tuple[str, str]]:
    """``(id, question)`` pairs from a .txt, .jsonl or .csv file; blank questions are skipped."""
    path = Path(path)
    if not path.is_file():
        raise BatchError(f"{path}: questions file not found")
    suffix = path.suffix.lower()
    out: list[tuple[str, str]] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        if suffix == ".jsonl":
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise BatchError(f"{path}:{lineno}: not JSON ({exc.msg})") from exc
                if not isinstance(item, dict) or not isinstance(item.get("question"), str):
                    raise BatchError(f"{path}:{lineno}: expected an object with a 'question' string")
                qid = item.get("id")
                question = item["question"].strip()
                out.append((str(qid) if qid not in (None, "") else question_id(question), question))
        elif suffix == ".csv":
            rows = list(csv.reader(fh))
            if not rows:
                return []
            header = [h.strip().lower() for h in rows[0]]
            if "question" in header:
                qi, ii = header.index("question"), header.index("id") if "id" in header else None
                body = rows[1:]
            else:
                qi, ii, body = 0, None, rows
            for row in body:
                if len(row) <= qi:
                    continue
                question = row[qi].strip()
                given = row[ii].strip() if ii is not None and ii < len(row) else ""
                out.append((given or question_id(question), question))
        elif suffix in (".txt", ""):
            for line in fh:
                out.append((question_id(line.strip()), line.strip()))
        else:
            raise BatchError(f"{path}: unsupported questions file (use .txt, .jsonl or .csv)")
    return [(qid, q) for qid, q in out if q]


def check_out(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in OUT_FORMATS:
        raise BatchError(f"{path}: output must end in .jsonl or .csv")
    return path


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Records already in ``path`` (a torn last JSONL line from a crash is ignored)."""
    path = check_out(path)
    if not path.exists() or path.stat().st_size == 0:
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        if path.suffix.lower() == ".csv":
            return [dict(row) for row in csv.DictReader(fh)]
        records = []
        for line in fh:
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records


def _rewrite(path: Path, records: list[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
    with _Writer(tmp) as writer:
        for record in records:
            writer.write(record)
    os.replace(tmp, path)


class _Writer:
    """Appends records to .jsonl or .csv, flushing each."""

    def __init__(self, path: Path):
        self.path = path
        self.csv = path.suffix.lower() == ".csv"

    def __enter__(self) -> _Writer:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists() or self.path.stat().st_size == 0
        if not new and not self.csv:
            with self.path.open("rb") as fh:  # repair a torn last line before appending
                fh.seek(-1, os.SEEK_END)
                torn = fh.read(1) != b"\n"
            if torn:
                records = read_records(self.path)
                _rewrite(self.path, records)
        self.fh = self.path.open("a", encoding="utf-8", newline="")
        if self.csv:
            self.writer = csv.DictWriter(self.fh, fieldnames=list(CSV_FIELDS), extrasaction="ignore")
            if new:
                self.writer.writeheader()
        return self

    def write(self, record: dict[str, Any]) -> None:
        if self.csv:
            row = dict(record)
            for key in ("sentences", "citations"):
                if key in row and not isinstance(row[key], str):
                    row[key] = json.dumps(row[key], ensure_ascii=False)
            self.writer.writerow(row)
        else:
            self.fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.fh.flush()

    def __exit__(self, *exc: Any) -> None:
        self.fh.close()


def _record(qid: str, question: str, result: Answer | Exception, seconds: float) -> dict[str, Any]:
    if isinstance(result, Exception):
        return {
            "id": qid,
            "question": question,
            "error": f"{type(result).__name__}: {result}",
            "seconds": round(seconds, 3),
        }
    data = result.to_dict()
    return {"id": qid, "question": question, **data, "seconds": round(seconds, 3)}


def _failed(record: dict[str, Any]) -> bool:
    return bool(record.get("error"))


def answer_group(
    kit: Kit, group: list[tuple[str, str]], generator: str | None, scope: Scope | None, k: int | None, batched: bool
) -> list[dict[str, Any]]:
    """Answer ``(id, question)`` pairs with ``kit``: one record each, a failure recorded, never raised.
    ``batched``: through the generator's batch API (``ask_many``), else one ``ask``."""
    answers = kit.runtime.answers
    t0 = time.monotonic()
    if not batched:
        qid, question = group[0]
        try:
            results: list[Answer | Exception] = [answers.ask(question, generator=generator, scope=scope, k=k)]
        except Exception as exc:  # noqa: BLE001 - one failing question never stops the batch
            results = [exc]
    else:
        try:
            results = answers.ask_many([q for _, q in group], generator=generator, scope=scope, k=k)
        except Exception as exc:  # noqa: BLE001
            results = [exc] * len(group)
    each = (time.monotonic() - t0) / len(group)
    return [_record(qid, question, result, each) for (qid, question), result in zip(group, results)]


def run_batch(
    kit: Kit,
    docs_dir: str | Path | None,
    questions_file: str | Path,
    out: str | Path,
    *,
    generator: str | None = None,
    k: int | None = None,
    where: dict[str, Any] | Scope | None = None,
    principal: Who = None,
    retry_failed: bool = False,
    progress: Progress | None = None,
    executor: str | None = None,
) -> dict[str, Any]:
    """Index ``docs_dir`` (incrementally), answer the questions not yet in ``out`` as ``principal``
    (None: the store's owner) within ``where``; return the summary.

    ``executor``: local | ray | ray:auto | ray://HOST:PORT (default: the config's ``executor.name``)."""
    scope = Scope.of(where, principal)
    with ExitStack() as stack:
        spec = executor or kit.config.executor.name
        runner = None
        if spec != "local":
            runner = kit.executor(spec)  # one Ray connection for the index and the answers
            stack.callback(runner.close)
        return _run(kit, docs_dir, questions_file, out, generator, k, scope, retry_failed, progress, runner)


def _run(
    kit: Kit,
    docs_dir: str | Path | None,
    questions_file: str | Path,
    out: str | Path,
    generator: str | None,
    k: int | None,
    scope: Scope,
    retry_failed: bool,
    progress: Progress | None,
    runner: Any,
) -> dict[str, Any]:
    out = check_out(out)
    questions = load_questions(questions_file)
    started = time.monotonic()
    gen = kit.runtime.answers.generators.get(generator)  # before indexing: cheap, and the local backend sets its threading policy
    index_report: dict[str, Any] | None = None
    if docs_dir is not None:
        if not Path(docs_dir).exists():
            raise BatchError(f"{docs_dir}: documents folder not found")
        report = kit.index([str(docs_dir)], progress=progress, executor=runner)
        index_report = report.to_dict()
        if runner is not None:
            runner.release()  # the ingest actors' CPUs go to the answering actors

    existing = read_records(out)
    current = dict(questions)
    changed = {
        str(r.get("id")) for r in existing
        if str(r.get("id")) in current and (r.get("question") or "").strip() != current[str(r.get("id"))]
    }
    drop = changed | ({str(r.get("id")) for r in existing if _failed(r)} if retry_failed else set())
    if drop:
        existing = [r for r in existing if str(r.get("id")) not in drop]
        _rewrite(out, existing)
    done = {str(r.get("id")) for r in existing}
    seen: set[str] = set()
    todo: list[tuple[str, str]] = []
    duplicates = 0
    for qid, question in questions:
        if qid in seen:
            duplicates += 1
            continue
        seen.add(qid)
        if qid not in done:
            todo.append((qid, question))

    group = max(1, int(getattr(gen, "batch_size", 1) or 1))
    groups = [todo[start : start + group] for start in range(0, len(todo), group)]
    answered = abstained = failed = written = 0
    grounded: list[float] = []
    answer_seconds = 0.0
    if progress:
        progress("answer", 0, len(todo))
    with _Writer(out) as writer:
        for records in _answers(kit, groups, generator, scope, k, group > 1, runner):
            for record in records:
                writer.write(record)
                answer_seconds += float(record.get("seconds") or 0.0)
                if _failed(record):
                    failed += 1
                else:
                    answered += 1
                    abstained += int(bool(record.get("abstained")))
                    grounded.append(float(record.get("grounded") or 0.0))
            written += len(records)
            if progress:
                progress("answer", written, len(todo))
    asked = answered + failed
    return {
        "out": str(out),
        "questions": len(questions),
        "asked": asked,
        "answered": answered,
        "abstained": abstained,
        "failed": failed,
        "skipped": len(questions) - duplicates - len(todo),
        "duplicates": duplicates,
        "reasked_changed": len(changed),
        "mean_grounded": round(sum(grounded) / len(grounded), 4) if grounded else None,
        "seconds_per_question": round(answer_seconds / asked, 3) if asked else None,
        "seconds_total": round(time.monotonic() - started, 2),
        "generator": gen.name,
        "index": index_report,
    }


def _answers(
    kit: Kit,
    groups: list[list[tuple[str, str]]],
    generator: str | None,
    scope: Scope,
    k: int | None,
    batched: bool,
    runner: Any,
) -> Iterator[list[dict[str, Any]]]:
    """The records of each group of questions: in this process in order, or from Ray actors as they
    finish (``runner``: the RayExecutor whose connection they share)."""
    if runner is None or not groups:
        for group in groups:
            yield answer_group(kit, group, generator, scope, k, batched)
        return
    from ragkit.batch.ray import RayAnswerer

    answerer = RayAnswerer(runner.session, kit, answer_group, generator=generator, scope=scope, k=k, batched=batched)
    try:
        yield from answerer.run(groups)
    finally:
        answerer.close()
