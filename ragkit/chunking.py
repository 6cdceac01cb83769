"""Structure-aware chunking: sections first, then paragraphs, then sentences, bounded by the embedder's
tokens, never inside a word; tables in row groups that repeat their header.

The token bound covers the whole text the embedder reads (:meth:`StructuredChunker.embed_text`: the
heading path as context, then the chunk), so no embedded text is ever cut at the model's window.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any, NotRequired, TypedDict

from ragkit.config import ChunkingConfig
from ragkit.types import Block, Chunk, Document, Table

Offsets = Callable[[str], list[tuple[int, int]]]


class _Piece(TypedDict):
    """A chunk before its id: its text, where it comes from, and for a table chunk its rows."""

    text: str
    span: tuple[int, int]
    kind: str
    block: Block
    table_id: NotRequired[str]
    row_range: NotRequired[tuple[int, int]]
    columns: NotRequired[tuple[int, int]]  # the column range of one row too wide for a chunk

_SENTENCE_END = re.compile(r"[.!?。！？][\"')\]]*\s")


def chunk_id(doc_id: str, ordinal: int, text: str) -> str:
    """Stable id: the same file content at the same path gives the same ids; other paths never collide."""
    digest = hashlib.sha256(f"{doc_id}\x00{ordinal}\x00{text}".encode()).hexdigest()
    return digest[:32]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class StructuredChunker:
    """Splits a Document's blocks into token-bounded chunks whose spans index the document text."""

    def __init__(self, config: ChunkingConfig, token_offsets: Offsets, tokenizer_name: str = ""):
        if config.overlap_tokens >= config.max_tokens:
            raise ValueError("chunking.overlap_tokens must be smaller than chunking.max_tokens")
        self.config = config
        self.token_offsets = token_offsets
        self.tokenizer_name = tokenizer_name

    def settings(self) -> dict[str, Any]:
        return {
            "name": "structured",
            "version": 2,  # 2: the bound includes the heading prefix that is embedded
            "max_tokens": self.config.max_tokens,
            "overlap_tokens": self.config.overlap_tokens,
            "table_rows_per_chunk": self.config.table_rows_per_chunk,
            "table_row_chunks": self.config.table_row_chunks,
            "tokenizer": self.tokenizer_name,
        }

    # -- what the embedder reads --------------------------------------------------------------------

    def heading_prefix(self, heading_path: Sequence[str]) -> str:
        """The heading path as it precedes a chunk's text when embedded, at most a third of the
        token bound (the deepest headings are kept; a single overlong heading is cut at a token)."""
        path = [h for h in heading_path if h]
        budget = self.config.max_tokens // 3
        while path:
            prefix = " > ".join(path)
            offsets = self.token_offsets(prefix)
            if len(offsets) <= budget:
                return prefix
            if len(path) == 1:
                return prefix[: offsets[budget - 1][1]] if budget > 0 else ""
            path = path[1:]
        return ""

    def embed_text(self, chunk: Chunk) -> str:
        """What the embedder sees: the heading path as context, then the chunk."""
        if chunk.heading_path and not chunk.text.startswith(chunk.heading_path[-1]):
            prefix = self.heading_prefix(chunk.heading_path)
            if prefix:
                return f"{prefix}\n{chunk.text}"
        return chunk.text

    def _budget(self, heading_path: Sequence[str]) -> int:
        """Tokens left for a chunk's own text once its heading prefix is counted."""
        prefix = self.heading_prefix(heading_path)
        return self.config.max_tokens - (len(self.token_offsets(prefix)) if prefix else 0)

    # -- chunks -------------------------------------------------------------------------------------

    def run(self, document: Document) -> list[Chunk]:
        pieces: list[_Piece] = []
        for group in _group_blocks(document.blocks):
            first = group[0]
            if first.kind == "table" and first.table is not None:
                pieces.extend(self._table_pieces(document, first, first.table))
            else:
                start, end = group[0].start, group[-1].end
                boundaries = {b.start for b in group} | {b.end for b in group}
                limit = self._budget(first.heading_path)
                for s, e in self._split_span(document.text, start, end, boundaries, limit):
                    pieces.append(
                        {
                            "text": document.text[s:e],
                            "span": (s, e),
                            "kind": "image" if first.kind == "image" else "text",
                            "block": first,
                        }
                    )
        chunks = []
        for ordinal, piece in enumerate(pieces):
            block = piece["block"]
            chunks.append(
                Chunk(
                    chunk_id=chunk_id(document.doc_id, ordinal, piece["text"]),
                    doc_id=document.doc_id,
                    source=document.source,
                    text=piece["text"],
                    ordinal=ordinal,
                    span=piece["span"],
                    kind=piece["kind"],
                    page=block.page,
                    heading_path=list(block.heading_path),
                    bbox=block.bbox,
                    table_id=piece.get("table_id"),
                    row_range=piece.get("row_range"),
                    image_path=block.image_path,
                    content_hash=document.content_hash,
                    metadata={"format": document.format, **document.metadata}
                    | ({"columns": list(piece["columns"])} if "columns" in piece else {}),
                    labels=list(document.labels),
                )
            )
        return chunks

    # -- text -------------------------------------------------------------------------------------

    def _split_span(
        self, text: str, start: int, end: int, boundaries: set[int], limit: int
    ) -> list[tuple[int, int]]:
        """Cut ``text[start:end]`` into spans of at most ``limit`` tokens, preferring block
        boundaries, then sentence ends, then whitespace; overlapping only where a cut is mid-paragraph."""
        segment = text[start:end]
        offsets = self.token_offsets(segment)
        overlap = min(self.config.overlap_tokens, limit // 2)
        if len(offsets) <= limit:
            return [(start, end)] if segment.strip() else []
        local_bounds = sorted(b - start for b in boundaries if start < b < end)
        spans: list[tuple[int, int]] = []
        i = 0  # index of the first token of the current chunk
        n = len(offsets)
        while i < n:
            if n - i <= limit:
                spans.append((offsets[i][0], len(segment)))
                break
            lo_char = offsets[i + limit // 2][0]
            hi_char = offsets[i + limit][0]  # first token that does not fit
            cut, clean = _best_cut(segment, lo_char, hi_char, local_bounds)
            spans.append((offsets[i][0], cut))
            j = _first_token_at(offsets, cut)
            if not clean and overlap:
                back = max(j - overlap, i + 1)
                # move to the start of a word so the overlap never begins mid-word
                while back < j and back > 0 and not segment[offsets[back][0] - 1].isspace():
                    back += 1
                j = back
            i = max(j, i + 1)
        out: list[tuple[int, int]] = []
        for s, e in spans:
            piece = segment[s:e]
            lead = len(piece) - len(piece.lstrip())
            trail = len(piece.rstrip())
            if trail <= lead:
                continue
            s, e = start + s + lead, start + s + trail
            # A piece cut out of a longer text can take more tokens on its own (a subword tokenizer
            # reads a word cut mid-way as a new word): split it again, tighter, until it fits.
            # Each split gives shorter pieces, so this ends.
            n = len(self.token_offsets(text[s:e]))
            if n > limit and e - s > 1:
                out.extend(self._split_span(text, s, e, boundaries, max(1, 2 * limit - n)))
            else:
                out.append((s, e))
        return out

    # -- tables -----------------------------------------------------------------------------------

    def _table_pieces(self, document: Document, block: Block, table: Table) -> list[_Piece]:
        """The chunks of table block ``block`` (``table`` is its ``block.table``)."""
        header = table.rows[: table.header_rows]
        body = table.rows[table.header_rows :]
        row_spans = _row_spans(document.text, block, len(table.rows))
        title = table.caption or (f"Sheet: {table.sheet}" if table.sheet else "") or " > ".join(block.heading_path)
        pieces: list[_Piece] = []
        per = max(1, self.config.table_rows_per_chunk)
        limit = self._budget(block.heading_path)
        r = 0
        if not body:
            body_groups = [(0, 0)]
        else:
            body_groups = []
            while r < len(body):
                size = per
                while True:
                    text = render_table(title, header, body[r : r + size])
                    if size == 1 or len(self.token_offsets(text)) <= limit:
                        break
                    size = max(1, size // 2)
                body_groups.append((r, min(len(body), r + size)))
                r += size
        if self.config.table_row_chunks and len(body) > 1:
            # one chunk per row as well (header repeated): a question about one value matches its row
            body_groups += [(i, i + 1) for i in range(len(body)) if (i, i + 1) not in body_groups]
        for lo, hi in body_groups:
            rows = body[lo:hi]
            if not any(str(cell).strip() for row in (rows or header) for cell in row):
                continue  # blank rows (or a blank header-only table): nothing to retrieve
            first_row, last_row = table.header_rows + lo, table.header_rows + hi
            if row_spans and rows:
                span = (row_spans[first_row][0], row_spans[last_row - 1][1])
            else:
                span = (block.start, block.end)
            for text, columns in self._fit_rows(title, header, rows, limit):
                piece: _Piece = {
                    "text": text,
                    "span": span,
                    "kind": "table",
                    "block": block,
                    "table_id": table.table_id,
                    "row_range": (first_row, last_row),
                }
                if columns is not None:
                    piece["columns"] = columns
                pieces.append(piece)
        return pieces

    def _fit_rows(
        self, title: str, header: Sequence[Sequence[str]], rows: Sequence[Sequence[str]], limit: int
    ) -> list[tuple[str, tuple[int, int] | None]]:
        """The rendered rows as one text within ``limit`` tokens; a single row too wide for it is split
        into column ranges (header repeated), and a column too long even alone into token windows."""
        text = render_table(title, header, rows)
        if len(self.token_offsets(text)) <= limit or len(rows) > 1:
            return [(text, None)]
        if not rows:  # a header-only table too wide for the bound: token windows of its rendering
            return [(text[s:t], None) for s, t in self._split_span(text, 0, len(text), set(), limit)]
        row = rows[0]
        out: list[tuple[str, tuple[int, int] | None]] = []
        c = 0
        while c < len(row):
            e = c + 1
            while e < len(row):
                wider = render_table(title, [h[c : e + 1] for h in header], [row[c : e + 1]])
                if len(self.token_offsets(wider)) > limit:
                    break
                e += 1
            part = render_table(title, [h[c:e] for h in header], [row[c:e]])
            if len(self.token_offsets(part)) <= limit:
                out.append((part, (c, e)))
            else:
                out.extend((part[s:t], (c, e)) for s, t in self._split_span(part, 0, len(part), set(), limit))
            c = e
        return out


def render_table(title: str, header: Sequence[Sequence[str]], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table (header repeated), with the table's title above it."""
    width = max([len(r) for r in list(header) + list(rows)] or [0])
    if width == 0:
        return title

    def line(cells: Sequence[str]) -> str:
        cells = [str(c).replace("\n", " ").replace("|", "\\|").strip() for c in cells]
        cells += [""] * (width - len(cells))
        return "| " + " | ".join(cells) + " |"

    lines = [title] if title else []
    if header:
        lines.extend(line(h) for h in header)
    else:
        lines.append(line([""] * width))
    lines.append("|" + "---|" * width)
    lines.extend(line(r) for r in rows)
    return "\n".join(lines)


def _group_blocks(blocks: Sequence[Block]) -> list[list[Block]]:
    """Runs of blocks that may share a chunk: same kind family, page and heading path; a heading
    starts a new run and stays with the text under it; each table is its own run."""
    groups: list[list[Block]] = []
    for block in blocks:
        if block.kind == "table" and block.table is not None:
            groups.append([block])
            continue
        if groups:
            last = groups[-1][-1]
            same = (
                last.kind != "table"
                and (last.kind == "image") == (block.kind == "image")
                and last.page == block.page
                and block.kind != "heading"
                and (last.heading_path == block.heading_path or last.kind == "heading")
            )
            if same:
                groups[-1].append(block)
                continue
        groups.append([block])
    return groups


def _best_cut(segment: str, lo: int, hi: int, bounds: list[int]) -> tuple[int, bool]:
    """Where to end a chunk within ``(lo, hi]``: a block boundary (clean), else a sentence end,
    else the last whitespace; never inside a word."""
    for b in reversed(bounds):
        if lo < b <= hi:
            return b, True
    best = -1
    for m in _SENTENCE_END.finditer(segment, lo, hi + 1):
        if m.end() - 1 <= hi:
            best = m.end() - 1
    if best > lo:
        return best, False
    space = max(segment.rfind(" ", lo, hi + 1), segment.rfind("\n", lo, hi + 1))
    if space > lo:
        return space, False
    # a single "word" longer than the window (e.g. a URL): cut at the token boundary
    return hi, False


def _first_token_at(offsets: list[tuple[int, int]], char: int) -> int:
    lo, hi = 0, len(offsets)
    while lo < hi:
        mid = (lo + hi) // 2
        if offsets[mid][0] < char:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _row_spans(text: str, block: Block, n_rows: int) -> list[tuple[int, int]]:
    """Character span of each table row in the document text (one line per row), or [] if the
    block's text is not laid out that way."""
    body = text[block.start : block.end]
    lines = body.split("\n")
    if len(lines) != n_rows:
        return []
    spans, pos = [], block.start
    for ln in lines:
        spans.append((pos, pos + len(ln)))
        pos += len(ln) + 1
    return spans
