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
