"""The ``extractive`` generator: relevant retrieved sentences, each cited; deterministic; abstains."""

from __future__ import annotations

import pytest
from tests.generation.gen_support import EIFFEL, FUJI, NILE, eiffel_hits

from ragkit.generation.extractive import ExtractiveGenerator
from ragkit.generation.prompt import ABSTAIN_TEXT, build_prompt

PASSAGES = [(1, EIFFEL), (2, FUJI), (3, NILE)]


@pytest.fixture(scope="module")
def gen(minilm_embedder):
    return ExtractiveGenerator(embedder=minilm_embedder)


def test_picks_the_answering_sentence_and_cites_it(gen):
    chosen = gen.select("How high is the summit of Mount Fuji?", PASSAGES)
    assert chosen and chosen[0].n == 2
    assert any("3,776 metres" in c.text for c in chosen)
    assert all(c.n == 2 for c in chosen)  # the Eiffel and Nile sentences are about something else


def test_leaves_out_off_topic_sentences_of_the_top_chunk(gen):
    texts = [c.text for c in gen.select("Who designed the Eiffel Tower?", PASSAGES)]
    assert "It was designed by the engineering company of Gustave Eiffel." in texts
    assert "The tower is 330 metres tall." not in texts


def test_abstains_when_nothing_is_relevant(gen):
    assert gen.select("What is the airspeed velocity of an unladen swallow?", PASSAGES) == []
    assert gen.compose("What is the airspeed velocity of an unladen swallow?", PASSAGES) == ABSTAIN_TEXT


def test_generate_reads_the_prompt_and_writes_markers(gen):
    prompt = build_prompt("How high is the summit of Mount Fuji?", eiffel_hits())
    text = gen.generate(prompt.messages)
    assert "3,776 metres above sea level [2]." in text
    assert gen.generate(prompt.messages) == text  # deterministic
    assert list(gen.stream(prompt.messages)) == [text]
    assert gen.generate_batch([prompt.messages, prompt.messages]) == [text, text]
