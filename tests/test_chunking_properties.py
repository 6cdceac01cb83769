"""Chunking, property-based (hypothesis): for any document the connectors could build, every text
chunk is exactly ``document.text[span]``, every embedded text (heading prefix included) is within the
token bound, no chunk is empty, and text chunks never start or end inside a word the bound could hold."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import DocumentBuilder
from connectors.csv import table_text
from ragkit.chunking import StructuredChunker
from ragkit.config import ChunkingConfig
from ragkit.embedding import HashEmbedder
from ragkit.types import Document, Table

# words: ordinary, accented/CJK, numbers, punctuation runs, and now and then one very long "word"
WORD = st.one_of(
    st.sampled_from("the glacier retreat of 1850 measured in km² — naïve café 東京 data-set e.g. U.S. (see) 3.5%".split()),
    st.text(alphabet=st.characters(categories=("L", "N", "P", "S")), min_size=1, max_size=12),
    st.text(alphabet="abcdefghij", min_size=30, max_size=400),
)
SEPARATOR = st.sampled_from([" ", " ", " ", ". ", "! ", "? ", ", ", "\n", "  ", "\t", "。"])
SENTENCE = st.lists(st.tuples(WORD, SEPARATOR), min_size=1, max_size=60).map(lambda ws: "".join(w + s for w, s in ws))
HEADING = st.lists(st.text(alphabet=st.characters(categories=("L", "N", "Zs")), min_size=1, max_size=40), max_size=4)
CELL = st.text(alphabet=st.characters(categories=("L", "N", "P", "Zs")), max_size=30)


@st.composite
def documents(draw: st.DrawFn) -> Document:
    builder = DocumentBuilder()
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["text", "text", "text", "heading", "image", "table"]))
        path = draw(HEADING)
        page = draw(st.sampled_from([None, 1, 2]))
        if kind == "table":
            width = draw(st.integers(1, 6))
            rows = draw(st.lists(st.lists(CELL, min_size=width, max_size=width), min_size=1, max_size=30))
            header = draw(st.integers(0, min(2, len(rows))))
            table = Table(table_id=f"t{len(builder.blocks)}", rows=rows, header_rows=header,
                          caption=draw(st.sampled_from(["", "Sales by region"])))
            builder.add(table_text(rows), "table", table=table, heading_path=path, page=page)
        else:
            builder.add(draw(SENTENCE), kind, heading_path=path, page=page)
    return builder.build(source="/docs/x.md", data=b"x", format="markdown")


CONFIGS = st.builds(
    lambda m, o, r, rc: ChunkingConfig(max_tokens=m, overlap_tokens=min(o, m - 1), table_rows_per_chunk=r, table_row_chunks=rc),
    st.integers(8, 120), st.integers(0, 30), st.integers(1, 25), st.booleans(),
)


def check(doc: Document, config: ChunkingConfig, token_offsets) -> None:
    chunker = StructuredChunker(config, token_offsets)
    chunks = chunker.run(doc)
    if any(ch.isalnum() for ch in doc.text):
        assert chunks, "a document with text gave no chunk"
    for ordinal, c in enumerate(chunks):
        assert c.ordinal == ordinal
        assert c.text.strip(), "empty chunk"
        s, e = c.span
        assert 0 <= s < e <= len(doc.text)
        if c.kind != "table":
            assert doc.text[s:e] == c.text
            assert c.text == c.text.strip()
        tokens = len(token_offsets(chunker.embed_text(c)))
        assert tokens <= config.max_tokens, (tokens, chunker.embed_text(c))
    assert len({c.chunk_id for c in chunks}) == len(chunks)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(doc=documents(), config=CONFIGS)
def test_chunks_with_a_word_tokenizer(doc: Document, config: ChunkingConfig) -> None:
    embedder = HashEmbedder()
    check(doc, config, embedder.token_offsets)
    # with one token per word, a chunk never starts or ends inside a word
    for c in StructuredChunker(config, embedder.token_offsets).run(doc):
        s, e = c.span
        if c.kind != "table":
            assert s == 0 or not (doc.text[s - 1].isalnum() and doc.text[s].isalnum()), c
            assert e == len(doc.text) or not (doc.text[e - 1].isalnum() and doc.text[e].isalnum()), c


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(doc=documents(), config=CONFIGS)
def test_chunks_with_the_model_tokenizer(minilm_embedder, doc: Document, config: ChunkingConfig) -> None:
    """MiniLM's own subword tokenizer: long words are cut into many tokens."""
    check(doc, config, minilm_embedder.token_offsets)


# Cases the properties found, kept as plain tests.

def _table_doc(rows: list[list[str]], header_rows: int) -> Document:
    builder = DocumentBuilder()
    builder.add(table_text(rows), "table", table=Table(table_id="t", rows=rows, header_rows=header_rows))
    return builder.build(source="/docs/t.csv", data=b"x", format="csv")


def test_blank_table_rows_make_no_chunk() -> None:
    embedder = HashEmbedder()
    config = ChunkingConfig(max_tokens=40, overlap_tokens=0, table_rows_per_chunk=1, table_row_chunks=False)
    chunks = StructuredChunker(config, embedder.token_offsets).run(_table_doc([["0"], [""], ["0"]], 0))
    assert len(chunks) == 2 and all(c.span[0] < c.span[1] for c in chunks)
    assert StructuredChunker(config, embedder.token_offsets).run(_table_doc([["", ""]], 1)) == []


def test_wide_header_only_table_is_cut_to_the_bound() -> None:
    embedder = HashEmbedder()
    config = ChunkingConfig(max_tokens=8, overlap_tokens=0)
    chunker = StructuredChunker(config, embedder.token_offsets)
    chunks = chunker.run(_table_doc([[f"column {i}" for i in range(6)]], 1))
    assert len(chunks) > 1 and all(len(embedder.token_offsets(chunker.embed_text(c))) <= 8 for c in chunks)


def test_a_word_cut_by_subword_tokens_still_fits(minilm_embedder) -> None:
    builder = DocumentBuilder()
    builder.add("the the the the the the the aaaaaaaaabgcaaaaaaaaaaaaaaaaaa", heading_path=["0A"])
    doc = builder.build(source="/docs/w.md", data=b"x", format="markdown")
    chunker = StructuredChunker(ChunkingConfig(max_tokens=8, overlap_tokens=0), minilm_embedder.token_offsets)
    for c in chunker.run(doc):
        assert len(minilm_embedder.token_offsets(chunker.embed_text(c))) <= 8
        assert doc.text[c.span[0] : c.span[1]] == c.text
