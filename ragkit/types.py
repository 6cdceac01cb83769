"""Plain data records that flow through ragkit: documents, blocks, chunks, hits, answers."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Table:
    """A table found in a document: rows of cell strings, the first ``header_rows`` are headers."""

    table_id: str
    rows: list[list[str]]
    header_rows: int = 1
    page: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    caption: str = ""
    sheet: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Block:
    """A contiguous span ``[start, end)`` of a document's text with its structure.

    kind is ``text`` (a paragraph), ``heading``, ``table`` or ``image`` (OCR text of an image).
    """

    kind: str
    start: int
    end: int
    page: int | None = None
    heading_path: list[str] = field(default_factory=list)
    bbox: tuple[float, float, float, float] | None = None
    table: Table | None = None
    image_path: str | None = None


@dataclass
class Document:
    """One source file as text plus structure. ``text`` is what the store keeps and spans index."""

    doc_id: str
    source: str
    text: str
    content_hash: str
    format: str
    blocks: list[Block] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)


@dataclass
class Chunk:
    """A retrievable unit with exact provenance.

    For ``text`` chunks ``document.text[span[0]:span[1]] == text``. For ``table`` chunks ``text`` is a
    Markdown rendering (header repeated) and ``span`` covers the rows in the document text.
    """

    chunk_id: str
    doc_id: str
    source: str
    text: str
    ordinal: int
    span: tuple[int, int]
    kind: str = "text"
    page: int | None = None
    heading_path: list[str] = field(default_factory=list)
    bbox: tuple[float, float, float, float] | None = None
    table_id: str | None = None
    row_range: tuple[int, int] | None = None
    image_path: str | None = None
    content_hash: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)

    @property
    def heading(self) -> str:
        return " > ".join(self.heading_path)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["heading"] = self.heading
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        data = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("span", "bbox", "row_range"):
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        return cls(**data)


@dataclass
class Hit:
    """A chunk returned by a retriever with its score (and per-retriever scores where fused)."""

    chunk: Chunk
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)  # e.g. ["lexical", "graph:PPR from 'Marie Curie'"]
    generation: int | None = None  # the committed store generation the hit was read from

    def to_dict(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "chunk_id": c.chunk_id,
            "score": float(self.score),
            "source": c.source,
            "page": c.page,
            "heading": c.heading,
            "span": list(c.span),
            "kind": c.kind,
            "text": c.text,
            "metadata": c.metadata,
            "paths": list(self.paths),
            "generation": self.generation,
        }


@dataclass
class Citation:
    """A numbered reference from an answer to the exact passage that supports it."""

    n: int
    chunk_id: str
    source: str
    page: int | None
    heading: str
    span: tuple[int, int]
    quote: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["span"] = list(self.span)
        return data


@dataclass
class Sentence:
    """One answer sentence with the citation numbers that support it and whether that was verified."""

    text: str
    citations: list[int] = field(default_factory=list)
    verified: bool = False
    score: float = 0.0


def markers(numbers: list[int]) -> str:
    """Citation marks as answers show them: ``[1, 3]`` → ``"[1][3]"``."""
    return "".join(f"[{n}]" for n in numbers)


@dataclass
class Short:
    """The short answer: a span of one cited passage ("Warsaw", "1867"), or yes / no / one of two options
    decided from cited facts. ``span`` is the char span of ``text`` in the cited chunk's text (None when
    the text is a decision, not a copied span); ``kind`` is what the question asked for (person, date,
    number, place, choice, yesno, thing); ``reason`` says which cited facts decided a comparison."""

    text: str
    citations: list[int] = field(default_factory=list)
    span: tuple[int, int] | None = None
    kind: str = ""
    verified: bool = False
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["span"] = list(self.span) if self.span is not None else None
        return data


@dataclass
class Answer:
    """A generated answer: the short answer (when one was found), the cited sentences that support it,
    the passages they cite and how grounded it is. ``str()`` shows the short answer first."""

    answer: str
    sentences: list[Sentence] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    grounded: float = 0.0
    generator: str = ""
    hits: list[Hit] = field(default_factory=list)
    short: Short | None = None

    def __str__(self) -> str:
        if self.short is None or not self.short.text:
            return self.answer
        return f"{self.short.text} {markers(self.short.citations)}".rstrip() + "\n\n" + self.answer

    def to_dict(self) -> dict[str, Any]:
        return {
            "short": self.short.to_dict() if self.short is not None else None,
            "answer": self.answer,
            "abstained": self.abstained,
            "sentences": [asdict(s) for s in self.sentences],
            "citations": [c.to_dict() for c in self.citations],
            "grounded": self.grounded,
            "generator": self.generator,
        }


@dataclass
class ConnectorOptions:
    """Settings connectors read, taken from the store's config (``[ocr]``, ``[limits]``) by the indexer.

    ocr_engine: "" (the best installed) | rapidocr | tesseract | none; ocr_max_pages: pages OCR'd per
    file at most; ocr_lang: tesseract's language; image_dir: where rendered images of OCR'd pages are
    kept (None: not kept).
    """

    ocr_engine: str = ""
    ocr_max_pages: int = 100
    ocr_lang: str = "eng"
    image_dir: str | None = None
    # limits (the store's ``[limits]``; 0 = none): see connectors/limits.py and connectors/guard.py
    max_file_mb: float = 200.0
    max_pages: int = 5000
    max_chars: int = 20_000_000
    max_chunks: int = 50_000
    parse_timeout: float = 60.0
    parse_workers: int = 1
    worker_memory_mb: int = 4096
    worker_max_rss_mb: int = 1024

