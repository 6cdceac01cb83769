"""Verification of sentences against cited passages, and attribution of uncited sentences."""

from __future__ import annotations

import pytest
from tests.generation.gen_support import EIFFEL, FUJI, NILE

from ragkit.generation.verify import Passage, Verifier, names, numbers


@pytest.fixture(scope="module")
def verifier(minilm_embedder):
    return Verifier(minilm_embedder)


def passages():
    return [
        Passage(1, EIFFEL, "landmarks/eiffel.md"),
        Passage(2, FUJI, "landmarks/fuji.txt"),
        Passage(3, NILE, "nile.txt"),
    ]


def test_numbers_and_names():
    assert numbers("It cost 1,200 francs in 1889, the fifth attempt, 3.5 km.") == {"1200", "1889", "5", "3.5"}
    assert names("The tower in Paris was designed by Gustave Eiffel's company.") == {"paris", "gustave", "eiffel"}


def test_quoted_sentence_is_verified(verifier):
    support = verifier.support("Construction was completed in 1889 for the World's Fair.", passages()[:1])
    assert support.verified and support.consistent
    start = EIFFEL.index("Construction")
    assert support.quotes[1] == [(start, EIFFEL.index("Fair.") + len("Fair."))]


def test_paraphrase_is_verified(verifier):
    support = verifier.support("The Eiffel Tower in Paris was completed in 1889.", passages()[:1])
    assert support.verified, support


@pytest.mark.parametrize(
    "sentence, missing",
    [
        ("Construction was completed in 1899 for the World's Fair.", "1899"),  # changed number
        ("The Eiffel Tower is a wrought-iron lattice tower in London, France.", "london"),  # changed place
        ("It was designed by the engineering company of Gustave Eiffel and Thomas Edison.", "edison"),  # added name
        ("The tower is 300 metres tall.", "300"),
    ],
)
def test_contradicting_sentence_is_not_verified(verifier, sentence, missing):
    support = verifier.support(sentence, passages()[:1])
    assert support.verified is False
    assert missing in support.missing


def test_sentence_about_something_else_is_not_verified(verifier):
    assert verifier.support("Mount Fuji is the highest mountain in Japan.", [passages()[0]]).verified is False
    assert verifier.support("Mount Fuji is the highest mountain in Japan.", [passages()[1]]).verified is True


def test_no_citation_is_not_verified(verifier):
    assert verifier.support("Anything at all.", []).verified is False


def test_attribute_picks_the_supporting_passage(verifier):
    assert verifier.attribute("Its summit is 3,776 metres above sea level.", passages()) == [2]
    assert verifier.attribute("The Nile flows north into the Mediterranean Sea.", passages()) == [3]


def test_attribute_cites_two_passages_for_a_two_part_sentence(verifier):
    cited = verifier.attribute("The Eiffel Tower is 330 metres tall and Mount Fuji is 3,776 metres high.", passages())
    assert cited == [1, 2]


def test_attribute_leaves_unsupported_sentences_uncited(verifier):
    assert verifier.attribute("Bananas are rich in potassium and grow in Ecuador.", passages()) == []
