"""`ragkit eval qa`: the answer metrics on hand-built inputs, gold answers and types read from every
multi-hop format, and the real CLI end to end on a tiny HotpotQA file (real Kit, hash embedder)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import ragkit
from ragkit.eval.multihop import Question, answers_of, load_multihop, paragraph_id, type_of
from ragkit.eval.qa import (
    Scored, answer_in, citation_scores, decided_with_evidence, evidence_complete, exact_match, examples,
    full_text, normalize_answer, report, score_answer, scored_text, summarize, token_f1,
)
from ragkit.types import Answer, Chunk, Citation, Hit, Short
from tests.eval.test_cli import hash_store

KEYS = ("em", "f1", "answer_in", "citation_precision", "citation_recall", "abstained", "s_per_question", "by_type")


# -- normalization, EM, F1, answer_in ---------------------------------------------------------------------
def test_normalize_answer_is_squads() -> None:
    assert normalize_answer("The  Beatles!") == "beatles"
    assert normalize_answer("An apple, a pear & the plum.") == "apple pear plum"
    assert normalize_answer("Theater") == "theater"  # articles only as whole words
    assert normalize_answer("U.S.A.") == "usa"


def test_exact_match_takes_the_best_alias() -> None:
    assert exact_match("the Rush", ["Rush"]) == 1.0
    assert exact_match("Rush band", ["Rush"]) == 0.0
    assert exact_match("NYC", ["New York City", "NYC"]) == 1.0
    assert exact_match("anything", []) == 0.0


def test_token_f1() -> None:
    assert token_f1("Rush", ["Rush"]) == 1.0
    # pred "canadian band rush" vs gold "rush": precision 1/3, recall 1 -> F1 0.5
    assert token_f1("the Canadian band Rush", ["Rush"]) == pytest.approx(0.5)
    assert token_f1("Rush", ["Toto", "Rush (band)"]) == pytest.approx(2 / 3)  # best over aliases
    assert token_f1("Toto", ["Rush"]) == 0.0
    assert token_f1("yes it is", ["yes"]) == 0.0  # HotpotQA's yes/no rule
    assert token_f1("no", ["no"]) == 1.0


def test_answer_in_matches_whole_tokens() -> None:
    assert answer_in("Neil Peart was the drummer of Rush.", ["Rush"]) == 1.0
    assert answer_in("It was founded in 1867 in Warsaw", ["Kraków", "1867"]) == 1.0
    assert answer_in("It is not known.", ["no"]) == 0.0
    assert answer_in("", ["Rush"]) == 0.0
    assert answer_in("Rush", []) == 0.0


# -- citations and evidence -------------------------------------------------------------------------------
def test_citation_scores() -> None:
    assert citation_scores(["a", "b", "x"], ["a", "b"]) == (pytest.approx(2 / 3), 1.0)
    assert citation_scores(["a", "a"], ["a", "b"]) == (1.0, 0.5)  # distinct paragraphs
    assert citation_scores([], ["a", "b"]) == (None, 0.0)
    assert citation_scores(["x"], []) == (0.0, 0.0)


def test_evidence_complete() -> None:
    assert evidence_complete(["x", "a", "y", "z", "b", "c"], ["a", "b"])
    assert not evidence_complete(["x", "a", "y", "z", "w", "b"], ["a", "b"])  # b is 6th
    assert not evidence_complete(["a"], [])


def _chunk(cid: str, doc: str) -> Chunk:
    return Chunk(chunk_id=cid, doc_id=doc, source=doc, text=f"text of {doc}", ordinal=0, span=(0, 11))


def _answer(text: str, cited: list[str], hits: list[tuple[str, str]], short: str | None = None,
            abstained: bool = False) -> Answer:
    citations = [Citation(n + 1, c, "src", None, "", (0, 1), "q") for n, c in enumerate(cited)]
    return Answer(answer=text, citations=citations, abstained=abstained,
                  hits=[Hit(_chunk(c, d), 1.0) for c, d in hits], short=Short(short) if short is not None else None)


def test_scored_text_prefers_a_nonempty_short() -> None:
    assert scored_text(_answer("Neil Peart drummed for Rush [1].", [], [], short="Rush")) == "Rush"
    assert scored_text(_answer("Neil Peart drummed for Rush [1].", [], [], short="")) == "Neil Peart drummed for Rush."
    assert scored_text(_answer("Neil Peart drummed for Rush [1].", [], [])) == "Neil Peart drummed for Rush."
    assert scored_text(_answer("I cannot answer this.", [], [], abstained=True)) == ""
    assert full_text(_answer("He drummed for them [1].", [], [], short="Rush")) == "Rush He drummed for them."


def test_score_answer_maps_citations_to_paragraphs() -> None:
    q = Question("q1", "Which band?", ["pA", "pB"], "f", ["Rush", "Rush (band)"], "bridge")
    hits = [("c1", "pA"), ("c2", "pX"), ("c3", "pB")]
    a = _answer("Peart drummed for Rush [1][2].", ["c1", "c2"], hits, short="Rush")
    row = score_answer(q, a, 0.5, {c: d for c, d in hits})
    assert (row.em, row.f1, row.answer_in) == (1.0, 1.0, 1.0)
    assert row.precision == 0.5 and row.recall == 0.5 and row.cited == ["pA", "pX"]
    assert row.complete and not row.abstained and row.seconds == 0.5
    assert row.short and not row.short_verified  # "Rush" was not verified (the test answer says so)


def _row(qtype: str, em: float, precision: float | None, recall: float, abstained: bool = False,
         complete: bool = False, seconds: float = 1.0) -> Scored:
    return Scored("q", "?", qtype, ["g"], "p", em, em, em, precision, recall, abstained, seconds, complete,
                  short=not abstained, short_verified=not abstained and em == 1.0)


def test_summarize_and_by_type() -> None:
    rows = [
        _row("bridge", 1.0, 1.0, 1.0, seconds=1.0),
        _row("bridge", 0.0, None, 0.0, abstained=True, seconds=3.0),
        _row("comparison", 1.0, 0.5, 0.5, complete=True, seconds=2.0),
        _row("yes/no", 0.0, 0.0, 0.0, abstained=True, complete=True, seconds=2.0),
        _row("yes/no", 1.0, 1.0, 1.0, complete=False, seconds=2.0),
    ]
    s = summarize(rows)
    assert s["em"] == s["f1"] == s["answer_in"] == 0.6 and s["questions"] == 5
    assert s["citation_precision"] == pytest.approx((1.0 + 0.5 + 0.0 + 1.0) / 4) and s["cited"] == 4
    assert s["citation_recall"] == pytest.approx(2.5 / 5)
    assert s["abstained"] == 0.4 and s["s_per_question"] == 2.0
    assert s["short"] == 0.6 and s["short_verified"] == 1.0  # the three short answers are the three exact ones
    assert summarize([])["em"] is None
    full = report(rows, "extractive", "hybrid")
    assert set(full["by_type"]) == {"bridge", "comparison", "yes/no"}
    assert full["by_type"]["bridge"]["em"] == 0.5 and full["by_type"]["bridge"]["citation_precision"] == 1.0
    assert full["by_type"]["yes/no"]["abstained"] == 0.5
    assert decided_with_evidence(rows) == {"share": 0.5, "decided": 1, "questions": 2,
                                           "types": ["comparison", "yes/no"], "k": 5}
    ex = examples(rows, 2)
    assert len(ex["worst"]) == len(ex["best"]) == 2 and ex["best"][0]["f1"] == 1.0 and ex["worst"][0]["f1"] == 0.0


# -- gold answers and types from every format -------------------------------------------------------------
def test_answers_and_types_of_each_format() -> None:
    hotpot = {"_id": "h", "answer": "yes", "type": "comparison"}
    assert answers_of(hotpot) == ["yes"] and type_of(hotpot) == "yes/no"
    assert type_of({"answer": "Rush", "type": "bridge"}) == "bridge"
    wiki = {"_id": "w", "answer": "Paris", "type": "bridge_comparison", "answer_aliases": ["Paris, France"]}
    assert answers_of(wiki) == ["Paris", "Paris, France"] and type_of(wiki) == "bridge_comparison"
    ircot = {"question_id": "i", "answers_objects": [{"number": "", "spans": ["Chief of Protocol", "Chief of Protocol"]},
                                                      {"number": "12", "spans": []}]}
    assert answers_of(ircot) == ["Chief of Protocol", "12"] and type_of(ircot) == "unknown"
    musique = {"id": "3hop1__9_8_7", "answer": "1867", "answer_aliases": ["in 1867"]}
    assert answers_of(musique) == ["1867", "in 1867"] and type_of(musique) == "3hop"
    assert answers_of({"question": "no gold"}) == []


def test_load_multihop_carries_answers_and_types(tmp_path: Path) -> None:
    path = tmp_path / "hp.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    _, questions = load_multihop([path])
    assert [q.answers for q in questions] == [["Rush"], ["yes"], ["Kraków"]]
    assert [q.qtype for q in questions] == ["bridge", "yes/no", "comparison"]
    assert questions[0].gold == [paragraph_id("Neil Peart", RECORDS[0]["context"][0][1][0]),
                                 paragraph_id("Rush (band)", RECORDS[0]["context"][1][1][0])]
    assert Question("x", "?").answers == [] and Question("x", "?").qtype == "unknown"


# -- end to end -------------------------------------------------------------------------------------------
def _hotpot(qid: str, question: str, answer: str, qtype: str, gold: list[tuple[str, str]],
            other: tuple[str, str]) -> dict[str, Any]:
    return {"_id": qid, "question": question, "answer": answer, "type": qtype,
            "supporting_facts": [[t, 0] for t, _ in gold],
            "context": [[t, [text]] for t, text in [*gold, other]]}


RECORDS = [
    _hotpot("q1", "Which band did Neil Peart drum for?", "Rush", "bridge",
            [("Neil Peart", "Neil Peart was the drummer of the band Rush."),
             ("Rush (band)", "Rush was a Canadian rock band formed in Toronto.")],
            ("Toto", "Toto is an American rock band from Los Angeles.")),
    _hotpot("q2", "Were Marie Curie and Pierre Curie both physicists?", "yes", "comparison",
            [("Marie Curie", "Marie Curie was a Polish physicist and chemist."),
             ("Pierre Curie", "Pierre Curie was a French physicist.")],
            ("Orchard", "Apples and pears grow in the orchard in autumn.")),
    _hotpot("q3", "Which city is older, Kraków or Warsaw?", "Kraków", "comparison",
            [("Kraków", "Kraków was founded in the 7th century."), ("Warsaw", "Warsaw was founded in the 13th century.")],
            ("Symphony", "The orchestra played a symphony with violins.")),
]


def invoke(*args: str) -> tuple[str, str]:
    from ragkit.cli.main import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def test_eval_qa_cli_end_to_end(tmp_path: Path) -> None:
    path = tmp_path / "hotpot.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    store = hash_store(tmp_path / "store")
    out, err = invoke("eval", "qa", str(path), "--store", str(store), "--json", "--quiet")
    data = json.loads(out)  # exactly one JSON document
    assert err == ""
    for key in (*KEYS, "questions", "generator", "mode", "decided_with_evidence", "examples"):
        assert key in data, key
    assert data["questions"] == 3 and data["paragraphs"] == 9
    assert data["generator"] == "extractive" and data["mode"] == "hybrid"
    for key in KEYS[:-1]:
        assert data[key] is None or 0.0 <= data[key] <= (1.0 if key != "s_per_question" else 60.0), key
    assert set(data["by_type"]) == {"bridge", "comparison", "yes/no"}
    assert sum(t["questions"] for t in data["by_type"].values()) == 3
    for key in ("em", "f1", "answer_in", "citation_recall", "abstained"):
        weighted = sum(t[key] * t["questions"] for t in data["by_type"].values()) / 3
        assert data[key] == pytest.approx(weighted, abs=1e-3), key
    assert data["em"] <= data["f1"] + 1e-9
    dwe = data["decided_with_evidence"]
    assert 0 <= dwe["decided"] <= dwe["questions"] <= 2

    # the bridge question, asked again through the SDK, scores what the CLI reported
    kit = ragkit.open(store)
    try:
        answer = kit.ask(RECORDS[0]["question"])
    finally:
        kit.close()
    bridge = data["by_type"]["bridge"]
    assert "rush" in normalize_answer(full_text(answer))  # the answer copies "Rush" verbatim from its passage
    assert bridge["answer_in"] == 1.0
    assert bridge["em"] == exact_match(scored_text(answer), ["Rush"])
    assert bridge["f1"] == pytest.approx(token_f1(scored_text(answer), ["Rush"]), abs=1e-4)
    gold = [paragraph_id(t, s[0]) for t, s in RECORDS[0]["context"][:2]]
    cited = {h.chunk.doc_id for h in answer.hits if h.chunk.chunk_id in {c.chunk_id for c in answer.citations}}
    assert bridge["citation_recall"] == pytest.approx(len(cited & set(gold)) / 2, abs=1e-4)

    again, _ = invoke("eval", "qa", str(path), "--store", str(store), "--limit", "1", "--mode", "lexical", "--json", "--quiet")
    one = json.loads(again)
    assert one["questions"] == 1 and one["mode"] == "lexical" and set(one["by_type"]) == {"bridge"}
    human, _ = invoke("eval", "qa", str(path), "--store", str(store), "--limit", "2", "--quiet")
    assert human.splitlines()[0].split()[:3] == ["type", "em", "f1"] and "generator extractive" in human
