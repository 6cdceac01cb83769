"""TAT-QA retrieval evaluation: tables and paragraphs of every context pooled into one store; a
question is a hit at k when one of its gold units (its table when the answer comes from the table,
plus its relevant paragraphs) is among the top k units (a unit scores as its best chunk)."""
from __future__ import annotations

import json
import re
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from connectors.base import DocumentBuilder
from ragkit.types import Document, Table

TABLE_MODES = ("table", "text")
_NUMERIC = re.compile(r"^[\s$€£(]*-?[\d,.]+%?\)?\s*$")


def load_tatqa(path: str | Path) -> list[dict[str, Any]]:
    """The contexts of a TAT-QA json file (list of {table, paragraphs, questions})."""
    path = Path(path)
    if path.is_dir():
        candidates = sorted(path.glob("*.json"))
        if not candidates:
            raise FileNotFoundError(f"{path}: no TAT-QA .json file in this folder")
        path = candidates[0]
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, list) or not data or "table" not in data[0] or "questions" not in data[0]:
        raise ValueError(f"{path}: not a TAT-QA file (expected a list of {{table, paragraphs, questions}})")
    return data


def header_rows(rows: list[list[str]]) -> int:
    """Leading rows that are headers: an empty row label, or no numeric cell (at least one row)."""
    n = 0
    for row in rows[:-1]:
        cells = [c.strip() for c in row]
        numeric = sum(bool(_NUMERIC.match(c)) and not re.fullmatch(r"(19|20)\d\d", c.strip()) for c in cells[1:] if c)
        if (cells and cells[0] == "") or numeric == 0:
            n += 1
        else:
            break
    return max(1, min(n, len(rows) - 1)) if len(rows) > 1 else 0


def table_document(table: dict[str, Any], table_mode: str = "table") -> Document:
    """A context's table as a document: a table block (table-aware) or one flattened text block."""
    rows = [[str(c).replace("\n", " ").strip() for c in row] for row in table["table"]]
    source = f"table:{table['uid']}"
    builder = DocumentBuilder()
    text = "\n".join(" | ".join(r) for r in rows)
    if table_mode == "table":
        builder.add(text, "table", table=Table(table_id=source, rows=rows, header_rows=header_rows(rows)))
    elif table_mode == "text":
        builder.add(text, "text")
    else:
        raise ValueError(f"unknown table mode {table_mode!r}; valid: {', '.join(TABLE_MODES)}")
    return builder.build(source=source, data=f"{table_mode}\n{text}".encode(), format="table")


def paragraph_document(paragraph: dict[str, Any]) -> Document:
    builder = DocumentBuilder()
    builder.add(paragraph["text"], "text")
    return builder.build(source=f"para:{paragraph['uid']}", data=paragraph["text"].encode(), format="text")


def build_units(contexts: list[dict[str, Any]], table_mode: str = "table") -> list[Document]:
    docs: dict[str, Document] = {}
    for ctx in contexts:
        for doc in [table_document(ctx["table"], table_mode)] + [paragraph_document(p) for p in ctx["paragraphs"]]:
            docs.setdefault(doc.doc_id, doc)
    return list(docs.values())


def gold_units(ctx: dict[str, Any], question: dict[str, Any]) -> set[str]:
    by_order = {str(p["order"]): p["uid"] for p in ctx["paragraphs"]}
    gold = {f"para:{by_order[str(o)]}" for o in question.get("rel_paragraphs", []) if str(o) in by_order}
    if question.get("answer_from") in ("table", "table-text"):
        gold.add(f"table:{ctx['table']['uid']}")
    return gold


def evaluate_tatqa(
    path: str | Path,
    store: str | Path | None = None,
    mode: str | None = None,
    table_mode: str = "table",
    limit: int | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Index the pooled units and report hit@1 / hit@5 (overall and by ``answer_from``)."""
    import ragkit

    contexts = load_tatqa(path)
    units = build_units(contexts, table_mode)
    questions = [(ctx, q) for ctx in contexts for q in ctx["questions"]]
    if limit:
        questions = questions[:limit]
    with tempfile.TemporaryDirectory() as tmp:
        kit = ragkit.open(store or Path(tmp) / "store")
        started = time.perf_counter()
        kit.add_documents(units, progress=progress)
        index_seconds = time.perf_counter() - started
        texts = [q["question"] for _, q in questions]
        started = time.perf_counter()
        results = kit.search_batch(texts, k=50, mode=mode)
        query_seconds = time.perf_counter() - started
        kit.close()
    hits = {1: 0, 5: 0}
    by_source: dict[str, Counter] = {}
    for (ctx, q), ranked in zip(questions, results):
        order: list[str] = []
        for hit in ranked:
            if hit.chunk.doc_id not in order:
                order.append(hit.chunk.doc_id)
        gold = gold_units(ctx, q)
        counter = by_source.setdefault(q.get("answer_from", "?"), Counter())
        counter["n"] += 1
        for k in hits:
            if gold & set(order[:k]):
                hits[k] += 1
                counter[f"hit@{k}"] += 1
    n = len(questions)
    return {
        "dataset": str(path),
        "mode": mode or "default",
        "table_mode": table_mode,
        "questions": n,
        "units": len(units),
        "hit@1": round(hits[1] / n, 4),
        "hit@5": round(hits[5] / n, 4),
        "by_answer_from": {
            src: {"questions": c["n"], "hit@1": round(c["hit@1"] / c["n"], 4), "hit@5": round(c["hit@5"] / c["n"], 4)}
            for src, c in sorted(by_source.items())
        },
        "index_seconds": round(index_seconds, 1),
        "query_ms_mean": round(1000 * query_seconds / max(n, 1), 2),
    }
