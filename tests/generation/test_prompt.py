"""Prompt building: numbered blocks with sources, context budget, whole sentences only."""

from __future__ import annotations

from tests.generation.gen_support import EIFFEL, eiffel_hits

from ragkit.generation.prompt import ABSTAIN_TEXT, approx_tokens, block_cost, build_prompt, overhead, parse_prompt
from ragkit.generation.sentences import sentences, split_sentences


def words(text: str) -> int:
    return len(text.split())


def test_blocks_are_numbered_with_sources_and_instructions():
    prompt = build_prompt("When was it built?", eiffel_hits(), count_tokens=words, context_tokens=2048, max_tokens=100)
    system, user = prompt.messages[0]["content"], prompt.messages[-1]["content"]
    assert "[1]" in system and ABSTAIN_TEXT in system and "only" in system
    assert "[1] Source: landmarks/eiffel.md | page 2 | Landmarks > Paris\nThe Eiffel Tower" in user
    assert "[2] Source: landmarks/fuji.txt\nMount Fuji" in user
    assert user.rstrip().endswith("Answer (cite passages as [n]):")
    assert [b.n for b in prompt.blocks] == [1, 2, 3] and prompt.dropped == 0


def test_budget_drops_lowest_ranked_chunks():
    hits = eiffel_hits()
    first = block_cost(1, hits[0].chunk, hits[0].chunk.text, words)
    second = block_cost(2, hits[1].chunk, hits[1].chunk.text, words)
    third = block_cost(3, hits[2].chunk, hits[2].chunk.text, words)
    assert third < second  # the third would fit alone, but lower-ranked chunks are dropped, not skipped
    context = overhead("q?", words) + 10 + first + second - 1
    prompt = build_prompt("q?", hits, count_tokens=words, context_tokens=context, max_tokens=10)
    assert [b.hit.chunk.chunk_id for b in prompt.blocks] == ["c-eiffel"]
    assert prompt.dropped == 2


def test_budget_never_cuts_mid_sentence():
    hits = eiffel_hits()
    full = block_cost(1, hits[0].chunk, hits[0].chunk.text, words)
    prompt = build_prompt(
        "q?", hits, count_tokens=words, context_tokens=overhead("q?", words) + 10 + full - 8, max_tokens=10
    )
    assert len(prompt.blocks) == 1
    text = prompt.blocks[0].text
    assert text and text != EIFFEL and EIFFEL.startswith(text)
    assert text.endswith(".") and text in [EIFFEL[:e] for _, e in split_sentences(EIFFEL)]


def test_history_is_placed_before_the_question():
    history = [
        {"role": "user", "content": "Tell me about Paris."},
        {"role": "assistant", "content": "It is in France."},
    ]
    prompt = build_prompt("How tall is it?", eiffel_hits(), history=history)
    assert [m["role"] for m in prompt.messages] == ["system", "user", "assistant", "user"]


def test_parse_prompt_round_trip():
    prompt = build_prompt("When was it built?", eiffel_hits(), count_tokens=approx_tokens)
    question, passages = parse_prompt(prompt.messages)
    assert question == "When was it built?"
    assert [n for n, _ in passages] == [1, 2, 3]
    assert passages[0][1] == EIFFEL


def test_sentence_splitter_handles_abbreviations_and_numbers():
    text = "Dr. J. Smith paid $3.5 million, i.e. a lot. He left in 1999! Did he? Yes.\n\n# Next\n- item one"
    assert sentences(text) == [
        "Dr. J. Smith paid $3.5 million, i.e. a lot.",
        "He left in 1999!",
        "Did he?",
        "Yes.",
        "# Next",
        "- item one",
    ]
