"""Verb-phrase predicates from spaCy's dependency parse, on crafted sentences (``graph.predicates = "parse"``)."""
from __future__ import annotations

from pathlib import Path

import pytest

from graphs.extract import SpacyRecognizer
from graphs.predicates import verb_predicate
from tests.conftest import write_files
from tests.graphs.conftest import graph_config, rows

CASES = [  # sentence, first entity, second entity, predicate (None: no verb between them)
    ("Marie Curie worked with Pierre Curie in Paris.", "Marie Curie", "Pierre Curie", "work with"),
    ("Marie Curie worked with Pierre Curie in Paris.", "Marie Curie", "Paris", "work in"),
    ("Albert Einstein was born in Ulm.", "Albert Einstein", "Ulm", "be born in"),
    ("Apple acquired Beats Electronics in 2014.", "Apple", "Beats Electronics", "acquire"),
    ("Beats Electronics was acquired by Apple.", "Beats Electronics", "Apple", "be acquired by"),
    ("Tim Cook, who leads Apple, visited Berlin.", "Tim Cook", "Apple", "lead"),
    ("Tim Cook, who leads Apple, visited Berlin.", "Tim Cook", "Berlin", "visit"),
    ("Microsoft did not buy Google.", "Microsoft", "Google", "not buy"),
    ("Bill Gates set up Microsoft with Paul Allen.", "Bill Gates", "Microsoft", "set up"),
    ("Paris, the capital of France, hosted the Olympics.", "Paris", "France", None),
]


@pytest.fixture(scope="module")
def parser():
    return SpacyRecognizer(parse=True)


@pytest.mark.parametrize("sentence,first,second,expected", CASES)
def test_verb_phrase_between_two_entities(parser, sentence, first, second, expected):
    (_, doc), = parser.analyze([sentence])
    a, b = sentence.index(first), sentence.index(second)
    assert verb_predicate(doc, (a, a + len(first)), (b, b + len(second))) == expected


def test_index_with_parsed_predicates(tmp_path: Path):
    import ragkit

    config = graph_config("spacy")
    config.graph.predicates = "parse"
    docs = write_files(tmp_path / "docs", {"a.txt": "Marie Curie worked with Pierre Curie in Paris. "
                                                    "Paris, the capital of France, is large."})
    kit = ragkit.open(tmp_path / "store", config)
    try:
        kit.index(docs)
        got = {(s[4:], p, d[4:]) for s, p, d in rows(kit, "SELECT src, predicate, dst FROM graph_edges WHERE kind='relation'")}
    finally:
        kit.close()
    assert ("marie curie", "work with", "pierre curie") in got and ("marie curie", "work in", "paris") in got
    assert ("paris", "the capital of", "france") in got  # no verb on the path: the connecting words
