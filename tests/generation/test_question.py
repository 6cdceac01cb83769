"""Question analysis: answer kinds, choice options, yes/no entities, comparison cues."""

from __future__ import annotations

import pytest

from ragkit.generation.question import analyze, choice_options, comparison, yesno_entities


@pytest.mark.parametrize("question, kind", [
    ("When was the pianist who recorded Live at Shelly's Manne-Hole born?", "date"),
    ("In what year did the Danish plant ecologist die?", "date"),
    ("How many members were in the South Korean boy group?", "number"),
    ("Where is the magazine headquartered that Robert W. McElroy writes for?", "place"),
    ("Who directed the 2001 film that featured Yu Rongguang?", "person"),
    ('Which Canadian rock band released a song called "Counterparts"?', "org"),
    ("What citizen was the author of Bimbos of the Death Sun?", "nationality"),
    ("Lorenzo Monaco was influenced by which Italian painter and architect?", "person"),
    ("What is the capital of Poland?", "place"),
    ("What did the treaty change?", "thing"),
])
def test_answer_kind(question: str, kind: str) -> None:
    assert analyze(question).kind == kind


def test_choice_options_and_cues() -> None:
    a = analyze("Which person went into space at a later date, Sigmund Jähn or Christer Fuglesang?")
    assert (a.kind, a.options, a.compare) == ("choice", ["Sigmund Jähn", "Christer Fuglesang"], "latest")
    assert choice_options("Which music group has the most members, DC Talk, or Manchester Orchestra?") == [
        "DC Talk", "Manchester Orchestra"]
    assert choice_options("Is Muskegon County Airport or John Wayne Airport further west?") == [
        "Muskegon County Airport", "John Wayne Airport"]
    assert choice_options("Who wrote Hamlet?") == []
    assert comparison("Who was born earlier, A or B?") == "earliest"
    assert comparison("Who lived to an older age, A or B?") == "longest_life"
    assert comparison("Which genus has more species, A or B?") == "max"
    assert comparison("Which has fewer acts, A or B?") == "min"
    assert comparison("Which is a comedy film, A or B?") == ""


def test_yesno_entities() -> None:
    a = analyze("Are Aladdin and Song of the South produced by the same company?")
    assert (a.kind, a.options, a.same) == ("yesno", ["Aladdin", "Song of the South"], True)
    assert yesno_entities("Are the flowering plants Ecballium and Elatostema in the same family?")[0] == [
        "Ecballium", "Elatostema"]
    b = analyze("Are Sutera and Rhodotypos both types of shrub?")
    assert b.options == ["Sutera", "Rhodotypos"] and not b.same and "shrub" in b.topic
    assert analyze("Is it raining?").options == []
