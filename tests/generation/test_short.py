"""Short answers: spans of cited passages, choices and yes/no decided from stated facts, LLM short lines,
and the answer pipeline that cites and verifies them (real MiniLM embedder)."""

from __future__ import annotations

from ragkit.config import Config
from ragkit.generation.pipeline import finish
from ragkit.generation.prompt import build_prompt
from ragkit.generation.short import ShortComposer
from ragkit.generation.short_answer import split_short
from ragkit.generation.verify import Verifier
from ragkit.types import Hit

from tests.generation.gen_support import DuckKit, chunk, eiffel_hits

JAHN = ("Sigmund Jähn\n\nSigmund Werner Paul Jähn (13 February 1937 – 21 September 2019) was a German cosmonaut. "
        "He flew aboard Soyuz 31 in 1978 and was the first German in space.")
FUGLESANG = ("Christer Fuglesang\n\nArne Christer Fuglesang (born 18 March 1957) is a Swedish physicist and an ESA "
             "astronaut. He was first launched aboard the STS-116 Space Shuttle mission on December 10, 2006.")
ETNA = "Mount Etna\n\nMount Etna is an active stratovolcano on the east coast of Sicily, Italy."
VESUVIUS = "Mount Vesuvius\n\nMount Vesuvius is a somma-stratovolcano located on the Gulf of Naples in Italy."
BLANC = "Mont Blanc\n\nMont Blanc is the highest mountain in the Alps, rising 4,808 metres above sea level."


def _hits(*texts: str) -> list[Hit]:
    return [Hit(chunk(f"c{i}", t, f"wiki/{t.split(chr(10))[0]}.txt", heading=[t.split("\n")[0]]), 1.0 - i / 10)
            for i, t in enumerate(texts)]


def _compose(embedder, question: str, *texts: str, **kw):
    prompt = build_prompt(question, _hits(*texts))
    return ShortComposer(embedder, **kw).run(question, prompt.blocks), prompt


def test_span_answer_is_cited_to_its_exact_span(minilm_embedder) -> None:
    composed, prompt = _compose(minilm_embedder, "When was the construction of the Eiffel Tower completed?",
                                *[h.chunk.text for h in eiffel_hits()])
    assert composed is not None and composed.short.text == "1889" and composed.short.kind == "date"
    block = prompt.block(composed.short.citations[0])
    start, end = composed.short.span
    assert block is not None and block.text[start:end] == "1889"
    n, (s, e) = composed.evidence[0]
    assert "completed in 1889" in block.text[s:e]


def test_graph_mentions_give_the_entity_and_the_question_is_never_the_answer(minilm_embedder) -> None:
    text = "Rush\n\nRush are a Canadian rock band. Neil Peart was the drummer of Rush from 1974."
    asked = []

    def mentions(ids):
        asked.extend(ids)
        return {"c0": [("Neil Peart", "PERSON"), ("Rush", "ORG")]}

    composed, _ = _compose(minilm_embedder, "Who was the drummer of Rush?", text, mentions=mentions)
    assert asked == ["c0"]
    assert composed is not None and composed.short.text == "Neil Peart"


def test_choice_is_decided_by_the_stated_dates(minilm_embedder) -> None:
    composed, prompt = _compose(minilm_embedder,
                                "Which person went into space at a later date, Sigmund Jähn or Christer Fuglesang?",
                                JAHN, FUGLESANG)
    assert composed is not None
    short = composed.short
    assert short.text == "Christer Fuglesang" and short.kind == "choice" and sorted(short.citations) == [1, 2]
    assert "1978" in short.reason and "2006" in short.reason and "later" in short.reason
    assert {n for n, _ in composed.evidence} == {1, 2}
    composed, _ = _compose(minilm_embedder, "Who was born earlier, Sigmund Jähn or Christer Fuglesang?",
                           JAHN, FUGLESANG)
    assert composed is not None and composed.short.text == "Sigmund Jähn"
    composed, _ = _compose(minilm_embedder, "Who lived to an older age, Sigmund Jähn or Christer Fuglesang?",
                           JAHN, FUGLESANG)
    assert composed is None  # Fuglesang's lifespan is not stated: undecided, not a guess


def test_yes_no_from_each_passage(minilm_embedder) -> None:
    yes, _ = _compose(minilm_embedder, "Are Mount Etna and Mount Vesuvius both stratovolcanoes?", ETNA, VESUVIUS)
    assert yes is not None and yes.short.text == "yes" and yes.short.kind == "yesno"
    no, _ = _compose(minilm_embedder, "Are Mount Etna and Mont Blanc both stratovolcanoes?", ETNA, BLANC)
    assert no is not None and no.short.text == "no" and "does not state" in no.short.reason
    same, _ = _compose(minilm_embedder, "Are Mount Etna and Mount Vesuvius located in the same country?",
                       ETNA, VESUVIUS, recognizer=_Countries())
    assert same is not None and same.short.text == "yes"
    missing, _ = _compose(minilm_embedder, "Are Mount Etna and Kilimanjaro both stratovolcanoes?", ETNA, VESUVIUS)
    assert missing is None  # no passage about Kilimanjaro


class _Countries:
    """A recognizer stand-in that tags "Italy" (the store has no graph in this test)."""

    def spans(self, texts):
        return [[(t.find("Italy"), t.find("Italy") + 5, "Italy", "GPE")] if "Italy" in t else [] for t in texts]


def test_split_short_reads_the_line_and_json() -> None:
    draft, rest = split_short("Short answer: 1889 [1]\nConstruction was completed in 1889 [1].")
    assert draft is not None and (draft.text, draft.cited) == ("1889", [1])
    assert rest == "Construction was completed in 1889 [1]."
    draft, rest = split_short('{"short": "Paris [2]", "sentences": []}')
    assert draft is not None and draft.text == "Paris" and draft.cited == [2] and rest == '{"sentences": []}'
    assert split_short("No short line here.") == (None, "No short line here.")
    draft, rest = split_short("The answer is: Gasherbrum II.")  # how SmolLM2 writes it
    assert draft is not None and draft.text == "Gasherbrum II" and rest == ""


def test_finish_verifies_an_llm_short_answer(minilm_embedder) -> None:
    prompt = build_prompt("When was it completed?", eiffel_hits())
    verifier = Verifier(minilm_embedder)
    answer = finish(prompt, "Short answer: 1889 [1]\nConstruction was completed in 1889 for the World's Fair [1].",
                    verifier, "openai")
    assert answer.short is not None and answer.short.verified and answer.short.text == "1889"
    assert prompt.blocks[0].text[slice(*answer.short.span)] == "1889"
    assert str(answer).startswith("1889 [1]\n\n")
    wrong = finish(prompt, "Short answer: 1901 [1]\nConstruction was completed in 1889 for the World's Fair [1].",
                   verifier, "openai")
    assert wrong.short is not None and not wrong.short.verified and wrong.short.kind == "unlocated"
    bare = finish(prompt, "The answer is: 1889.", verifier, "local")  # a short line and nothing else
    assert not bare.abstained and bare.short is not None and bare.short.verified
    assert [s.citations for s in bare.sentences] == [[1]] and "1889" in bare.sentences[0].text
    assert finish(prompt, "The answer is: 1901.", verifier, "local").abstained
    echo = finish(prompt, "Question: When was it completed?\nConstruction was completed in 1889 for the World's Fair [1].",
                  verifier, "local")
    assert all(not s.text.lower().startswith("question") for s in echo.sentences) and len(echo.sentences) == 1


def test_ask_gives_the_extractive_short_answer_first(minilm_embedder) -> None:
    kit = DuckKit(_hits(JAHN, FUGLESANG), minilm_embedder)
    answer = kit.answers.ask("Which person went into space at a later date, Sigmund Jähn or Christer Fuglesang?")
    assert answer.short is not None and answer.short.text == "Christer Fuglesang" and answer.short.verified
    assert str(answer).splitlines()[0] == "Christer Fuglesang [1][2]"
    cited = {c.n for c in answer.citations}
    assert cited == {1, 2} and all(s.verified for s in answer.sentences if s.citations)
    assert answer.to_dict()["short"]["reason"].startswith("Sigmund Jähn")
    off = Config()
    off.generator.short_answers = False
    assert DuckKit(_hits(JAHN, FUGLESANG), minilm_embedder, off).answers.ask("Who flew later, Jähn or Fuglesang?").short is None
