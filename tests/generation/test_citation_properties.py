"""Citation parsing, property-based (hypothesis): markers in every written form parse to the cited
numbers, stripping leaves no marker, and any answer text splits into non-empty sentences without error."""
from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ragkit.generation.citations import MARKER, MAX_RANGE, parse_markers, split_answer, strip_markers, with_markers

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)
NUMBER = st.integers(1, 999)
SEP = st.sampled_from([",", ", ", ";", " and ", " & ", ",  "])
PREFIX = st.sampled_from(["", "Passage ", "passages ", "Source ", "doc ", "Context "])
WORDS = st.lists(st.sampled_from("the glacier lost mass in 2003 while meltwater rose by twelve percent".split()),
                 min_size=1, max_size=12).map(" ".join)


def unique(numbers: list[int]) -> list[int]:
    out: list[int] = []
    for n in numbers:
        if n not in out:
            out.append(n)
    return out


@st.composite
def marker(draw: st.DrawFn) -> tuple[str, list[int]]:
    """One marker as a model might write it, and the numbers it cites."""
    if draw(st.booleans()):
        lo = draw(NUMBER)
        hi = lo + draw(st.integers(0, MAX_RANGE + 20))
        dash = draw(st.sampled_from(["-", "–", "—", " - "]))
        cited = list(range(lo, hi + 1)) if hi - lo <= MAX_RANGE else [lo, hi]
        return f"[{draw(PREFIX)}{lo}{dash}{hi}]", cited
    numbers = draw(st.lists(NUMBER, min_size=1, max_size=5))
    body = str(numbers[0]) + "".join(draw(SEP) + str(n) for n in numbers[1:])
    return f"[{draw(PREFIX)}{body}]", numbers


@PROPERTY_SETTINGS
@given(parts=st.lists(st.tuples(WORDS, marker()), min_size=1, max_size=6))
def test_markers_parse_to_the_cited_numbers_in_order(parts: list[tuple[str, tuple[str, list[int]]]]) -> None:
    text = " ".join(f"{words} {m}." for words, (m, _) in parts)
    expected = unique([n for _, (_, cited) in parts for n in cited])
    assert parse_markers(text) == expected
    stripped = strip_markers(text)
    assert not MARKER.search(stripped)
    assert parse_markers(stripped) == []
    sentences = split_answer(text)
    assert unique([n for s in sentences for n in s.cited]) == expected
    assert all(s.text and not MARKER.search(s.text) for s in sentences)


@PROPERTY_SETTINGS
@given(words=WORDS, numbers=st.lists(NUMBER, max_size=6), end=st.sampled_from([".", "!", "?", "", ".)", '."']))
def test_with_markers_round_trips(words: str, numbers: list[int], end: str) -> None:
    sentence = words[0].upper() + words[1:] + end
    marked = with_markers(sentence, numbers)
    assert parse_markers(marked) == unique(numbers)
    assert strip_markers(marked) == strip_markers(sentence)
    if end and numbers:
        assert marked.endswith(end)  # markers go before the final punctuation


@PROPERTY_SETTINGS
@given(text=st.text(max_size=400) | st.text(alphabet="[]0123456789-–,; and&.!?\n Passage", max_size=200))
@example(text="[1[2]]")  # nested: one pass of stripping left "[1]"
@example(text="a [ 3 [4] ] b [[5]]")
def test_any_text_parses_without_error(text: str) -> None:
    numbers = parse_markers(text)
    assert all(isinstance(n, int) and n >= 0 for n in numbers) and len(numbers) == len(set(numbers))
    assert not MARKER.search(strip_markers(text))
    for sentence in split_answer(text):
        assert sentence.text.strip() and any(ch.isalnum() for ch in sentence.text)
        assert all(isinstance(n, int) for n in sentence.cited)
