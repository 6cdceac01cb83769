"""``ragkit batch`` and ``ragkit ask``: question files, one record per id, re-runs, failures, CLI output.

Stores use the hashing embedder (no model load); answers come from the extractive generator.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ragkit
from ragkit.batch import BatchError, load_questions, question_id, read_records, run_batch
from tests.conftest import hash_config

DOCS = {
    "tower.txt": "The Eiffel Tower is in Paris. Construction was completed in 1889 for the World's Fair.",
    "fuji.txt": "Mount Fuji is the highest mountain in Japan. Its summit is 3,776 metres above sea level.",
}
ASK_KEYS = {"answer", "abstained", "sentences", "citations", "grounded"}


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    root.mkdir()
    for name, text in DOCS.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def kit(hash_kit):
    return hash_kit


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_load_questions_formats(tmp_path):
    q = question_id
    assert load_questions(write(tmp_path / "q.txt", "First?\n\nThird?\n")) == [(q("First?"), "First?"), (q("Third?"), "Third?")]
    jsonl = write(tmp_path / "q.jsonl", '{"id": "a", "question": "A?"}\n\n{"question": "B?"}\n')
    assert load_questions(jsonl) == [("a", "A?"), (q("B?"), "B?")]
    with_header = write(tmp_path / "h.csv", 'id,question\nx1,"Why, though?"\n,No id?\n')
    assert load_questions(with_header) == [("x1", "Why, though?"), (q("No id?"), "No id?")]
    assert load_questions(write(tmp_path / "n.csv", "What?\nWho?\n")) == [(q("What?"), "What?"), (q("Who?"), "Who?")]
    assert q("What?") != q("Who?") and q("What?") == q(" What? ") and q("What?").startswith("q-")
    with pytest.raises(BatchError, match=r"q2.jsonl:1: expected an object with a 'question'"):
        load_questions(write(tmp_path / "q2.jsonl", '{"text": "no"}\n'))
    with pytest.raises(BatchError, match="unsupported questions file"):
        load_questions(write(tmp_path / "q.xml", "<q/>"))


def test_batch_writes_one_record_per_id_and_skips_on_rerun(kit, docs, tmp_path):
    questions = write(tmp_path / "q.txt", "When was the Eiffel Tower completed?\n\nHow high is Mount Fuji?\n")
    out = tmp_path / "out.jsonl"
    stages: list[str] = []
    summary = run_batch(kit, docs, questions, out, progress=lambda stage, done, total: stages.append(stage))
    records = read_records(out)
    assert [r["id"] for r in records] == [question_id("When was the Eiffel Tower completed?"), question_id("How high is Mount Fuji?")]
    assert all(ASK_KEYS <= set(r) and r["question"] for r in records)
    assert summary["asked"] == 2 and summary["skipped"] == 0 and summary["failed"] == 0
    assert summary["index"]["added"] == 2 and "answer" in stages
    assert summary["answered"] == 2 and summary["mean_grounded"] is not None

    again = run_batch(kit, docs, questions, out)
    assert again["asked"] == 0 and again["skipped"] == 2 and again["index"]["unchanged"] == 2
    assert read_records(out) == records

    write(questions, "When was the Eiffel Tower completed?\n\nHow high is Mount Fuji?\nWhere is the tower?\n")
    third = run_batch(kit, docs, questions, out)
    assert third["asked"] == 1 and [r["id"] for r in read_records(out)] == [r["id"] for r in records] + [
        question_id("Where is the tower?")
    ]


def test_failing_question_is_recorded_and_batch_continues(kit, docs, tmp_path, monkeypatch):
    from ragkit.generation.pipeline import Answerer

    real_ask = Answerer.ask

    def flaky(self, question, **kwargs):
        if "explode" in question:
            raise RuntimeError("generator fell over")
        return real_ask(self, question, **kwargs)

    monkeypatch.setattr(Answerer, "ask", flaky)
    questions = write(
        tmp_path / "q.jsonl",
        '{"id": "ok1", "question": "When was the Eiffel Tower completed?"}\n'
        '{"id": "bad", "question": "Please explode"}\n{"id": "ok2", "question": "How high is Mount Fuji?"}\n',
    )
    out = tmp_path / "out.jsonl"
    summary = run_batch(kit, docs, questions, out)
    records = {r["id"]: r for r in read_records(out)}
    assert list(records) == ["ok1", "bad", "ok2"]
    assert records["bad"]["error"] == "RuntimeError: generator fell over"
    assert summary["failed"] == 1 and summary["answered"] == 2

    assert run_batch(kit, docs, questions, out)["asked"] == 0  # errors count as done ...
    monkeypatch.setattr(Answerer, "ask", real_ask)
    retried = run_batch(kit, docs, questions, out, retry_failed=True)  # ... unless retried
    assert retried["asked"] == 1 and retried["failed"] == 0
    ids = [r["id"] for r in read_records(out)]
    assert sorted(ids) == ["bad", "ok1", "ok2"] and len(ids) == 3


def test_csv_output_and_torn_jsonl_line(kit, docs, tmp_path):
    questions = write(
        tmp_path / "q.csv", "id,question\nq1,When was the Eiffel Tower completed?\nq2,How high is Mount Fuji?\n"
    )
    out = tmp_path / "out.csv"
    run_batch(kit, docs, questions, out)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["q1", "q2"]
    assert isinstance(json.loads(rows[0]["citations"]), list)
    assert run_batch(kit, docs, questions, out)["skipped"] == 2

    out_jsonl = tmp_path / "out.jsonl"
    run_batch(kit, docs, questions, out_jsonl)
    with out_jsonl.open("a", encoding="utf-8") as fh:
        fh.write('{"id": "q3", "quest')  # a crash mid-write
    write(questions, questions.read_text(encoding="utf-8") + "q3,Where is the Eiffel Tower?\n")
    summary = run_batch(kit, docs, questions, out_jsonl)
    assert summary["asked"] == 1
    lines = out_jsonl.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["q1", "q2", "q3"]


def test_bad_output_extension(kit, docs, tmp_path):
    with pytest.raises(BatchError, match="must end in .jsonl or .csv"):
        run_batch(kit, docs, write(tmp_path / "q.txt", "Q?\n"), tmp_path / "out.txt")


# -- CLI ---------------------------------------------------------------------------------------------------
@pytest.fixture
def cli_store(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    ragkit.open(store, hash_config()).close()
    return store


def run_cli(args: list[str]):
    from ragkit.cli.main import app

    return CliRunner().invoke(app, args, catch_exceptions=False)


def test_cli_batch_json_summary_and_summary_file(cli_store, docs, tmp_path):
    questions = write(tmp_path / "q.txt", "When was the Eiffel Tower completed?\nHow high is Mount Fuji?\n")
    out = tmp_path / "out.jsonl"
    result = run_cli(
        ["batch", str(docs), str(questions), "-o", str(out), "--store", str(cli_store), "--json", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # exactly one JSON document
    assert summary["asked"] == 2 and summary["out"] == str(out)
    assert len(read_records(out)) == 2

    summary_file = tmp_path / "summary.json"
    result = run_cli(
        ["batch", str(docs), str(questions), "-o", str(out), "--store", str(cli_store), "--summary", str(summary_file)]
    )
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(summary_file.read_text())["skipped"] == 2

    result = run_cli(["batch", str(docs), str(questions), "-o", str(out), "--store", str(cli_store)])
    assert "2 skipped" in result.stderr and result.stdout == ""


def test_cli_batch_bad_inputs(cli_store, docs, tmp_path):
    result = run_cli(
        ["batch", str(docs), str(tmp_path / "missing.txt"), "-o", str(tmp_path / "o.jsonl"), "--store", str(cli_store)]
    )
    assert result.exit_code == 1 and "questions file not found" in result.stderr
    result = run_cli(
        ["batch", str(docs), str(docs / "tower.txt"), "-o", str(tmp_path / "o.md"), "--store", str(cli_store)]
    )
    assert result.exit_code == 1 and "must end in .jsonl or .csv" in result.stderr


def test_cli_ask_json_and_text(cli_store, docs):
    ragkit.open(cli_store).index([str(docs)])
    result = run_cli(["ask", "When was the Eiffel Tower completed?", "--store", str(cli_store), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert ASK_KEYS <= set(data)
    for sentence in data["sentences"]:
        assert set(sentence) >= {"text", "citations", "verified"}
    cited = {n for s in data["sentences"] for n in s["citations"]}
    assert {c["n"] for c in data["citations"]} == cited
    for c in data["citations"]:
        assert set(c) == {"n", "chunk_id", "source", "page", "heading", "span", "quote"}

    # the extractive generator quotes the sentence that answers, cited and verified against its span
    assert data["abstained"] is False and "1889" in data["answer"]
    assert any(s["verified"] and "1889" in s["text"] for s in data["sentences"])
    cited = {c["n"]: c for c in data["citations"]}
    answer_citation = next(cited[n] for s in data["sentences"] if "1889" in s["text"] for n in s["citations"])
    assert answer_citation["source"].endswith("tower.txt")
    start, end = answer_citation["span"]
    assert DOCS["tower.txt"][start:end] == answer_citation["quote"] and "1889" in answer_citation["quote"]

    text = run_cli(["ask", "When was the Eiffel Tower completed?", "--store", str(cli_store)]).stdout
    assert "1889" in text and "grounded:" in text and "tower.txt" in text


def test_cli_ask_rejects_unknown_generator(cli_store):
    result = run_cli(["ask", "Q?", "--generator", "gpt5", "--store", str(cli_store)])
    assert result.exit_code == 1 and "valid: extractive, local, openai, vllm" in result.stderr


def test_cli_help_names_default_generator():
    import re

    result = run_cli(["ask", "--help"])
    flat = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.stdout).split())
    assert "Default: the store's generator.name, 'extractive'" in flat


def test_render_flags_unverified_sentences():
    from ragkit.cli.ask import render

    data = {
        "answer": "A [1]. B [1].",
        "abstained": False,
        "grounded": 0.5,
        "sentences": [
            {"text": "A.", "citations": [1], "verified": True},
            {"text": "B.", "citations": [1], "verified": False},
        ],
        "citations": [
            {"n": 1, "chunk_id": "c", "source": "a.md", "page": 3, "heading": "H", "span": [5, 7], "quote": "A."}
        ],
    }
    text = render(data)
    assert "UNVERIFIED [1] B." in text and "verified   [1] A." in text
    assert "[1] a.md, page 3, H, chars 5-7" in text and "1/2 sentences verified" in text


def test_edited_questions_file_never_pairs_an_answer_with_another_question(kit, docs, tmp_path):
    """Ids come from the question text: inserting a line re-asks nothing else, and an answer recorded
    for one question is never reported for another."""
    questions = write(tmp_path / "q.txt", "When was the Eiffel Tower completed?\nHow high is Mount Fuji?\n")
    out = tmp_path / "answers.jsonl"
    assert run_batch(kit, docs, questions, out)["asked"] == 2
    write(questions, "Where is the Eiffel Tower?\nWhen was the Eiffel Tower completed?\nHow high is Mount Fuji?\n")
    again = run_batch(kit, docs, questions, out)
    assert again["asked"] == 1 and again["skipped"] == 2
    records = {r["question"]: r for r in read_records(out)}
    assert set(records) == {"Where is the Eiffel Tower?", "When was the Eiffel Tower completed?", "How high is Mount Fuji?"}
    for question, record in records.items():
        assert record["id"] == question_id(question)
    assert "1889" in records["When was the Eiffel Tower completed?"]["answer"]
    assert "3,776" in records["How high is Mount Fuji?"]["answer"]


def test_a_record_whose_question_changed_is_asked_again(kit, docs, tmp_path):
    questions = write(tmp_path / "q.jsonl", '{"id": "q1", "question": "When was the Eiffel Tower completed?"}\n')
    out = tmp_path / "answers.jsonl"
    run_batch(kit, docs, questions, out)
    write(questions, '{"id": "q1", "question": "How high is Mount Fuji?"}\n')
    summary = run_batch(kit, docs, questions, out)
    assert summary["asked"] == 1 and summary["reasked_changed"] == 1
    (record,) = read_records(out)
    assert record["question"] == "How high is Mount Fuji?" and "3,776" in record["answer"]
