"""Citation markers, answer splitting and the mapping of numbers to exact passages."""

from __future__ import annotations

from tests.generation.gen_support import EIFFEL, chunk

from ragkit.generation.citations import (
    make_citation,
    parse_marker,
    parse_markers,
    parse_structured,
    split_answer,
    strip_markers,
    with_markers,
)
from ragkit.generation.prompt import ContextBlock
from ragkit.types import Hit


def test_parse_marker_forms():
    assert parse_marker("1") == [1]
    assert parse_marker("1, 3") == [1, 3]
    assert parse_marker("2-4") == [2, 3, 4]
    assert parse_marker("2–4") == [2, 3, 4]
    assert parse_marker("1,2 and 5") == [1, 2, 5]
    assert parse_marker("3-1") == [3, 1]  # reversed range: keep both ends, expand nothing
    assert parse_marker("1-999") == [1, 999]  # absurd range: not expanded


def test_parse_markers_in_text():
    text = "A is true [1]. B [2, 3] and C [4-5]. D [source 6][1]. Not a marker: [x] or [a1]."
    assert parse_markers(text) == [1, 2, 3, 4, 5, 6]


def test_strip_markers_tidies_spacing():
    assert strip_markers("Paris is big [1], and old [2-3].") == "Paris is big, and old."


def test_split_answer_assigns_markers_to_sentences():
    drafts = split_answer("Claim one [1]. Claim two. [2] Claim three [3-4]. Claim four has none.")
    assert [(d.text, d.cited) for d in drafts] == [
        ("Claim one.", [1]),
        ("Claim two.", [2]),
        ("Claim three.", [3, 4]),
        ("Claim four has none.", []),
    ]


def test_split_answer_trailing_marker_group():
    drafts = split_answer("It opened in 1889. [1][2]")
    assert [(d.text, d.cited) for d in drafts] == [("It opened in 1889.", [1, 2])]


def test_with_markers_goes_before_final_punctuation():
    assert with_markers("It is tall.", [1, 3]) == "It is tall [1][3]."
    assert with_markers("No period", [2]) == "No period [2]"
    assert with_markers("Uncited.", []) == "Uncited."


def test_citation_span_is_document_span_of_the_quote():
    c = chunk("c1", EIFFEL, "eiffel.md", offset=100, page=2, heading=["Landmarks", "Paris"])
    block = ContextBlock(1, Hit(c, 1.0), c.text)
    start = EIFFEL.index("Construction")
    end = EIFFEL.index("Fair.") + len("Fair.")
    citation = make_citation(block, [(start, end)])
    assert citation.quote == "Construction was completed in 1889 for the World's Fair."
    assert citation.span == (100 + start, 100 + end)
    assert (citation.n, citation.chunk_id, citation.source, citation.page, citation.heading) == (
        1,
        "c1",
        "eiffel.md",
        2,
        "Landmarks > Paris",
    )
    document = "x" * 100 + EIFFEL
    assert document[citation.span[0] : citation.span[1]] == citation.quote


def test_citation_merges_overlapping_and_marks_gaps():
    c = chunk("c1", EIFFEL, "eiffel.md")
    block = ContextBlock(1, Hit(c, 1.0), c.text)
    s1 = (0, EIFFEL.index("France.") + len("France."))
    s3 = (EIFFEL.index("Construction"), EIFFEL.index("Fair.") + len("Fair."))
    citation = make_citation(block, [s1, s1, (0, 10), s3])
    assert citation.quote.startswith("The Eiffel Tower") and " … Construction" in citation.quote
    assert citation.span == (0, s3[1])


def test_table_citation_uses_chunk_span():
    table = chunk("t1", "| year | height |\n| --- | --- |\n| 1889 | 300 |", "t.csv", offset=40, kind="table")
    table.span = (40, 60)  # rows in the document text, not the Markdown rendering
    citation = make_citation(ContextBlock(2, Hit(table, 1.0), table.text), [])
    assert citation.span == (40, 60) and citation.n == 2


def test_parse_structured_answers():
    drafts = parse_structured(
        '{"sentences": [{"text": "It is tall [2].", "citations": [1]}, {"text": "", "citations": []}]}'
    )
    assert [(d.text, d.cited) for d in drafts] == [("It is tall.", [1, 2])]
    assert parse_structured("Plain text [1].") is None
    assert parse_structured('{"broken": ') is None
    assert parse_structured('```json\n{"sentences": [{"text": "A.", "citations": [3]}]}\n```')[0].cited == [3]


def test_list_enumerators_are_not_sentences():
    from ragkit.generation.citations import split_answer

    drafts = split_answer("1. [2] Fixes go to the two latest releases. 2. [1] Reports go to security. 3) Done [3].")
    assert [(d.text, d.cited) for d in drafts] == [
        ("Fixes go to the two latest releases.", [2]),
        ("Reports go to security.", [1]),
        ("Done.", [3]),
    ]
