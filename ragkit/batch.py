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
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
                has_id = ii is not None and ii < len(row) and row[ii].strip()
                out.append((row[ii].strip() if has_id else question_id(question), question))
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


def run_batch(
    kit: Any,
    docs_dir: str | Path | None,
    questions_file: str | Path,
    out: str | Path,
    *,
    generator: str | None = None,
    k: int | None = None,
    where: dict | None = None,
    retry_failed: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Index ``docs_dir`` (incrementally), answer the questions not yet in ``out``; return the summary."""
    from ragkit.generation.pipeline import ask, ask_many, generator_for

    out = check_out(out)
    questions = load_questions(questions_file)
    started = time.monotonic()
    gen = generator_for(kit, generator)  # before indexing: cheap, and the local backend sets its threading policy
    index_report: dict[str, Any] | None = None
    if docs_dir is not None:
        if not Path(docs_dir).exists():
            raise BatchError(f"{docs_dir}: documents folder not found")
        report = kit.index([str(docs_dir)], progress=progress)
        index_report = report.to_dict() if hasattr(report, "to_dict") else dict(report)

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
    answered = abstained = failed = 0
    grounded: list[float] = []
    answer_seconds = 0.0
    if progress:
        progress("answer", 0, len(todo))
    with _Writer(out) as writer:
        for start in range(0, len(todo), group):
            chunk = todo[start : start + group]
            t0 = time.monotonic()
            if group == 1:
                qid, question = chunk[0]
                try:
                    results: list[Answer | Exception] = [ask(kit, question, generator=generator, where=where, k=k)]
                except Exception as exc:  # noqa: BLE001 - one failing question never stops the batch
                    results = [exc]
            else:
                try:
                    results = ask_many(kit, [q for _, q in chunk], generator=generator, where=where, k=k)
                except Exception as exc:  # noqa: BLE001
                    results = [exc] * len(chunk)
            each = (time.monotonic() - t0) / len(chunk)
            answer_seconds += each * len(chunk)
            for (qid, question), result in zip(chunk, results):
                writer.write(_record(qid, question, result, each))
                if isinstance(result, Exception):
                    failed += 1
                else:
                    answered += 1
                    abstained += int(result.abstained)
                    grounded.append(result.grounded)
            if progress:
                progress("answer", start + len(chunk), len(todo))
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
