"""Chunking: token bounds with the embedder's tokenizer, spans, words intact, headings, tables."""
from __future__ import annotations

import re

from connectors.base import DocumentBuilder
from ragkit.chunking import StructuredChunker, chunk_id
from ragkit.config import ChunkingConfig
from ragkit.types import Table

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()


def _long_paragraph(n_sentences: int) -> str:
    return " ".join(
        f"Sentence {i} talks about {WORDS[i % len(WORDS)]} and {WORDS[(i * 7) % len(WORDS)]} measurements."
        for i in range(n_sentences)
    )


def _doc(blocks):
    b = DocumentBuilder()
    for text, kind, heading, table in blocks:
        b.add(text, kind, heading_path=heading, table=table, page=1)
    return b.build(source="/docs/x.md", data=b"x", format="markdown")


def test_chunks_respect_token_bound_spans_and_words(minilm_embedder):
    chunker = StructuredChunker(ChunkingConfig(max_tokens=64, overlap_tokens=12), minilm_embedder.token_offsets)
    doc = _doc(
        [
            ("Install", "heading", ["Install"], None),
            (_long_paragraph(40), "text", ["Install"], None),
            ("Linux", "heading", ["Install", "Linux"], None),
            ("Run the installer on Linux.", "text", ["Install", "Linux"], None),
        ]
    )
    chunks = chunker.run(doc)
    assert len(chunks) > 5
    for c in chunks:
        assert doc.text[c.span[0] : c.span[1]] == c.text
        assert minilm_embedder.count_tokens(c.text) <= 64
        # never split inside a word: the characters around the span are not both word characters
        s, e = c.span
        assert s == 0 or not (doc.text[s - 1].isalnum() and doc.text[s].isalnum())
        assert e == len(doc.text) or not (doc.text[e - 1].isalnum() and doc.text[e].isalnum())
    assert chunks[-1].heading_path == ["Install", "Linux"]
    assert chunks[-1].text.startswith("Linux")
    # consecutive pieces of the long paragraph overlap (mid-paragraph cuts carry context)
    body = [c for c in chunks if c.heading_path == ["Install"]]
    assert any(b.span[0] < a.span[1] for a, b in zip(body, body[1:]))
    # ordinals are positions; ids are unique
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_paragraphs_are_packed_and_cut_at_block_boundaries(minilm_embedder):
    chunker = StructuredChunker(ChunkingConfig(max_tokens=40, overlap_tokens=8), minilm_embedder.token_offsets)
    paras = [f"Paragraph {i} has a few words about {WORDS[i]}." for i in range(12)]
    doc = _doc([(p, "text", ["Notes"], None) for p in paras])
    chunks = chunker.run(doc)
    assert 1 < len(chunks) < len(paras)
    for c in chunks:
        # every chunk starts and ends on a paragraph boundary
        assert re.match(r"Paragraph \d+", c.text)
        assert c.text.endswith(".")


def test_large_table_split_in_row_groups_with_header(minilm_embedder):
    rows = [["Region", "Sales"]] + [[f"R{i}", str(i * 10)] for i in range(50)]
    text = "\n".join(" | ".join(r) for r in rows)
    table = Table(table_id="t1", rows=rows, header_rows=1, caption="Sales by region")
    chunker = StructuredChunker(
        ChunkingConfig(max_tokens=200, overlap_tokens=16, table_rows_per_chunk=20, table_row_chunks=False),
        minilm_embedder.token_offsets,
    )
    doc = _doc([(text, "table", [], table)])
    chunks = chunker.run(doc)
    assert len(chunks) == 3
    covered = []
    for c in chunks:
        assert c.kind == "table" and c.table_id == "t1"
        assert c.text.startswith("Sales by region\n| Region | Sales |")
        lo, hi = c.row_range
        covered.extend(range(lo, hi))
        # the span covers exactly the rows of the group in the document text
        assert doc.text[c.span[0] : c.span[1]] == "\n".join(" | ".join(r) for r in rows[lo:hi])
    assert covered == list(range(1, 51))


def test_chunk_ids_stable_and_path_scoped():
    assert chunk_id("/a.txt", 0, "same") == chunk_id("/a.txt", 0, "same")
    assert chunk_id("/a.txt", 0, "same") != chunk_id("/b.txt", 0, "same")
    assert chunk_id("/a.txt", 0, "same") != chunk_id("/a.txt", 1, "same")


def test_table_row_chunks_repeat_header(minilm_embedder):
    rows = [["Item", "2019", "2018"], ["Revenue", "10", "9"], ["Costs", "4", "3"], ["Total", "6", "6"]]
    table = Table(table_id="t2", rows=rows, header_rows=1)
    chunker = StructuredChunker(ChunkingConfig(table_row_chunks=True), minilm_embedder.token_offsets)
    doc = _doc([("\n".join(" | ".join(r) for r in rows), "table", [], table)])
    chunks = chunker.run(doc)
    assert [c.row_range for c in chunks] == [(1, 4), (1, 2), (2, 3), (3, 4)]
    costs = chunks[2]
    assert costs.text == "| Item | 2019 | 2018 |\n|---|---|---|\n| Costs | 4 | 3 |"
    assert doc.text[costs.span[0] : costs.span[1]] == "Costs | 4 | 3"


def _embedded_tokens(chunker, embedder, chunks):
    return [len(embedder.token_offsets(chunker.embed_text(c))) for c in chunks]


def test_bound_covers_the_heading_prefix_that_is_embedded(minilm_embedder):
    """A deeply titled section: chunk text plus the heading path the embedder reads stays in bounds."""
    chunker = StructuredChunker(ChunkingConfig(), minilm_embedder.token_offsets)
    heading = [f"Part {i}: the configuration of subsystem number {i} and its many options" for i in range(6)]
    doc = _doc([(" ".join(heading), "heading", heading, None), (_long_paragraph(80), "paragraph", heading, None)])
    chunks = chunker.run(doc)
    assert len(chunks) > 3
    sizes = _embedded_tokens(chunker, minilm_embedder, chunks)
    assert max(sizes) <= 240 <= minilm_embedder.max_tokens - 2, sizes
    assert all(chunker.embed_text(c).endswith(c.text) for c in chunks)
    prefix = chunker.heading_prefix(heading)
    assert prefix and heading[-1] in prefix and len(minilm_embedder.token_offsets(prefix)) <= 80


def test_a_table_row_wider_than_the_window_is_split_by_columns(minilm_embedder):
    chunker = StructuredChunker(ChunkingConfig(max_tokens=64, overlap_tokens=8), minilm_embedder.token_offsets)
    header = [f"column {i} name" for i in range(12)]
    row = [f"value {i} is a long cell about {WORDS[i]}" for i in range(12)]
    table = Table(rows=[header, row, row[::-1]], header_rows=1, table_id="t1")
    doc = _doc([("\n".join(" | ".join(r) for r in table.rows), "table", ["Specs"], table)])
    chunks = chunker.run(doc)
    assert max(_embedded_tokens(chunker, minilm_embedder, chunks)) <= 64
    split = [c for c in chunks if "columns" in c.metadata]
    covered = sorted({tuple(c.metadata["columns"]) for c in split if c.row_range == (1, 2)})
    assert covered[0][0] == 0 and covered[-1][1] == 12  # every column of the row is in some chunk
    assert all(a[1] == b[0] for a, b in zip(covered, covered[1:]))
    for value in row:
        assert any(value in c.text for c in split if c.row_range == (1, 2))


def test_no_embedded_text_exceeds_the_window_on_real_corpora(minilm_embedder):
    """SciFact and the PDF corpus (../shared/data, beside the repo in CI): every text sent to the
    embedder fits its window, so nothing is silently truncated."""
    import pytest

    from connectors.base import ConnectorError
    from connectors.registry import load
    from ragkit.eval.beir import BeirDataset
    from ragkit.types import ConnectorOptions
    from tests.conftest import SHARED_DATA

    scifact, pdfs = SHARED_DATA / "scifact", SHARED_DATA / "pdf_corpus" / "pdf"
    if not scifact.exists() or not pdfs.exists():
        pytest.skip(f"needs the public data sets in {SHARED_DATA} (present in CI)")
    chunker = StructuredChunker(ChunkingConfig(), minilm_embedder.token_offsets)
    window = minilm_embedder.max_tokens - 2  # [CLS] and [SEP]
    counts = {"scifact": 0, "pdf": 0}
    worst = 0
    for doc in BeirDataset(scifact).documents():
        for size in _embedded_tokens(chunker, minilm_embedder, chunker.run(doc)):
            counts["scifact"] += 1
            worst = max(worst, size)
    options = ConnectorOptions(ocr_max_pages=1)  # OCR'd pages are chunked too, one per scan keeps it quick
    for path in sorted(pdfs.glob("*.pdf")):
        try:
            doc = load(path, None, options)
        except ConnectorError:
            continue
        for size in _embedded_tokens(chunker, minilm_embedder, chunker.run(doc)):
            counts["pdf"] += 1
            worst = max(worst, size)
    assert counts["scifact"] > 5000 and counts["pdf"] > 4000, counts
    assert worst <= window, f"an embedded text of {worst} tokens exceeds the {window}-token window"
