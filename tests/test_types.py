"""The data types' own behaviour: the short answer shown first, and its JSON shape."""
import json

from ragkit.types import Answer, Sentence, Short


def test_str_shows_the_short_answer_first_with_its_citations() -> None:
    answer = Answer(
        answer="Marie Curie was born in Warsaw [1].",
        sentences=[Sentence("Marie Curie was born in Warsaw.", [1], True)],
        short=Short("Warsaw", [1], (24, 30), "place", True),
    )
    assert str(answer) == "Warsaw [1]\n\nMarie Curie was born in Warsaw [1]."
    data = json.loads(json.dumps(answer.to_dict()))
    assert data["short"] == {"text": "Warsaw", "citations": [1], "span": [24, 30], "kind": "place",
                             "verified": True, "reason": ""}


def test_without_a_short_answer_str_is_the_answer_and_short_is_null() -> None:
    answer = Answer(answer="I cannot answer that from the indexed documents.", abstained=True)
    assert str(answer) == answer.answer
    assert answer.to_dict()["short"] is None
    decided = Answer(answer="x", short=Short("yes", [1, 2], None, "yesno", True, "both are American"))
    assert decided.to_dict()["short"]["span"] is None
