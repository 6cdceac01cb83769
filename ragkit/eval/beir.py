"""BEIR datasets: read the standard layout and evaluate a store's retrieval on it.

Layout: ``corpus.jsonl`` or ``corpus.jsonl.gz`` (``_id``, ``title``, ``text``), ``queries.jsonl``
(``_id``, ``text``) and ``qrels/<split>.tsv`` (``query-id, corpus-id, score``; header line optional,
tabs or spaces, LF or CRLF).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import gzip
import hashlib
import io
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ragkit.types import Block, Document

if TYPE_CHECKING:
    from ragkit.kit import Kit


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline=None)
    return path.open("r", encoding="utf-8", newline=None)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a JSON-lines file (``.gz`` too); blank lines skipped, bad lines name their number."""
    with _open_text(path) as fh:
        for number, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: invalid JSON: {exc}") from exc


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``{query_id: {doc_id: relevance}}`` from a BEIR/TREC-style TSV (header line optional)."""
    qrels: dict[str, dict[str, int]] = {}
    with _open_text(path) as fh:
        for number, line in enumerate(fh, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) == 4:  # TREC: qid iteration docid rel
                parts = [parts[0], parts[2], parts[3]]
            if len(parts) != 3:
                raise ValueError(f"{path}:{number}: expected query-id, corpus-id, score; got {line.strip()!r}")
            try:
                score = int(float(parts[2]))
            except ValueError:
                if number == 1:  # a header line
                    continue
                raise ValueError(f"{path}:{number}: score {parts[2]!r} is not a number") from None
            qrels.setdefault(parts[0], {})[parts[1]] = score
    return qrels


@dataclass
class BeirDataset:
    """A BEIR dataset directory."""

    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if not self.path.is_dir():
            raise FileNotFoundError(f"{self.path}: not a directory")

    @property
    def corpus_path(self) -> Path:
        for name in ("corpus.jsonl", "corpus.jsonl.gz"):
            if (self.path / name).exists():
                return self.path / name
        raise FileNotFoundError(f"{self.path}: no corpus.jsonl or corpus.jsonl.gz")

    def splits(self) -> list[str]:
        return sorted(p.stem for p in (self.path / "qrels").glob("*.tsv"))

    def corpus(self) -> Iterator[dict[str, Any]]:
        for row in read_jsonl(self.corpus_path):
            yield {"_id": str(row["_id"]), "title": row.get("title") or "", "text": row.get("text") or ""}

    def queries(self) -> dict[str, str]:
        path = self.path / "queries.jsonl"
        if not path.exists() and (self.path / "queries.jsonl.gz").exists():
            path = self.path / "queries.jsonl.gz"
        return {str(r["_id"]): r.get("text") or "" for r in read_jsonl(path)}

    def qrels(self, split: str = "test") -> dict[str, dict[str, int]]:
        path = self.path / "qrels" / f"{split}.tsv"
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such split (have: {', '.join(self.splits()) or 'none'})")
        return read_qrels(path)

    def documents(self) -> Iterator[Document]:
        """Each corpus row as a Document whose id is the BEIR ``_id``."""
        for row in self.corpus():
            yield to_document(row["_id"], row["title"], row["text"])

    def split_queries(self, split: str) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
        """(queries, qrels) of a split, limited to judged queries that have a text."""
        qrels = self.qrels(split)
        texts = self.queries()
        missing = [q for q in qrels if q not in texts]
        if missing:
            raise ValueError(f"{self.path}: {len(missing)} query ids of split {split!r} not in queries.jsonl, e.g. {missing[0]}")
        judged = {q: r for q, r in qrels.items() if any(v > 0 for v in r.values())}
        return {q: texts[q] for q in judged}, judged


def to_document(doc_id: str, title: str, text: str, metadata: dict[str, Any] | None = None) -> Document:
    """A titled passage as a Document: the title is a heading block over the text (the chunker
    repeats it as context of every chunk), the text one paragraph block."""
    title, text = title.strip(), text.strip()
    blocks: list[Block] = []
    full = ""
    if title:
        blocks.append(Block("heading", 0, len(title), heading_path=[title]))
        full = title
    if text:
        start = len(full) + (2 if full else 0)
        full = f"{full}\n\n{text}" if full else text
        blocks.append(Block("text", start, len(full), heading_path=[title] if title else []))
    meta = {"title": title, **(metadata or {})}
    digest = hashlib.sha256(full.encode("utf-8")).hexdigest()
    return Document(doc_id=doc_id, source=doc_id, text=full, content_hash=digest, format="text", blocks=blocks, metadata=meta)


def index_corpus(kit: Kit, documents: list[Document], progress: Any = None) -> dict[str, Any]:
    """Add ``documents`` to the kit's store (unchanged ones are skipped); seconds and counts."""
    t0 = time.perf_counter()
    report = kit.add_documents(documents, progress=progress)
    seconds = time.perf_counter() - t0
    data = report.to_dict()
    return {"index_seconds": round(seconds, 2), "documents": len(documents), "chunks": kit.store.count_chunks(), "ingest": data}


def evaluate_beir(
    kit: Kit,
    dataset: BeirDataset,
    split: str = "test",
    mode: str | None = None,
    compare: Sequence[str] = (),
    tune_split: str | None = None,
    rerank: bool = False,
    latency_queries: int | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Evaluate the kit (whose store holds the corpus) on ``split``; the result's top level is the
    configuration asked for (``mode``, else the store's default; tuned on ``tune_split`` if given),
    other configurations in ``compare`` go under ``"modes"``."""
    from ragkit.retrieval.metrics import evaluate
    from ragkit.eval.runner import DocMap, doc_rankings, latency, round_metrics, variant
    from ragkit.retrieval.tune import tune_queries

    queries, qrels = dataset.split_queries(split)
    qids = list(queries)
    texts = [queries[q] for q in qids]
    docs = DocMap(kit.store)
    base = kit.config.retrieval
    result: dict[str, Any] = {"dataset": dataset.path.name, "split": split}
    tuned = None
    if tune_split:
        train_queries, train_qrels = dataset.split_queries(tune_split)
        tuned = tune_queries(kit.retrieval.hybrid(), kit.config.retrieval, train_queries, train_qrels)
        result["tuning"] = {"split": tune_split, **{k: v for k, v in tuned.to_dict().items() if k != "grid"}}

    def run(name: str, with_rerank: bool = False) -> dict[str, Any]:
        if name == "tuned":
            assert tuned is not None
            v = variant("cc", base, weight=tuned.weight, normalization=tuned.normalization)
            v.name = "tuned"
        else:
            v = variant(name, base)
        v.rerank = with_rerank
        ranked = doc_rankings(kit, texts, v, docs, progress=progress)
        metrics = evaluate(dict(zip(qids, ranked)), qrels)
        metrics.update(latency(kit, texts, v, limit=latency_queries))
        return {"name": v.name, **v.describe(), **round_metrics(metrics)}

    top_name = "tuned" if tuned is not None and mode in (None, "hybrid") else (mode or "hybrid")
    result.update(run(top_name))
    names = [m for m in dict.fromkeys([*compare, *(["tuned"] if tuned else [])]) if m != top_name]
    names = [m for m in names if m != "tuned" or tuned is not None]
    modes = {m: run(m) for m in names}
    if rerank:
        modes[f"{top_name}+rerank"] = run(top_name, True)
    if modes:
        result["modes"] = modes
    return result
