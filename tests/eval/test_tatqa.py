"""TAT-QA reader, gold units and hit@k on a tiny fixture in the official format."""
from __future__ import annotations

import json
from pathlib import Path

import ragkit
from ragkit.eval.tatqa import evaluate_tatqa, gold_units, header_rows, table_document
from tests.conftest import hash_config


def _fixture(tmp_path: Path) -> Path:
    contexts = [
        {
            "table": {"uid": "t1", "table": [["", "2019", "2018"], ["Revenue", "$ 1,200", "$ 1,000"], ["Net income", "300", "250"]]},
            "paragraphs": [
                {"uid": "p1", "order": 1, "text": "Revenue grew because of strong demand for turbines."},
                {"uid": "p2", "order": 2, "text": "The board approved a dividend of 40 cents."},
            ],
            "questions": [
                {"uid": "q1", "question": "What was the net income in 2019?", "answer": "300", "answer_from": "table", "rel_paragraphs": []},
                {"uid": "q2", "question": "Why did revenue grow with turbines demand?", "answer": "demand", "answer_from": "text", "rel_paragraphs": ["1"]},
            ],
        },
        {
            "table": {"uid": "t2", "table": [["Employees", "2019"], ["Engineers", "40"], ["Sales staff", "12"]]},
            "paragraphs": [{"uid": "p3", "order": 1, "text": "Headcount rose as engineers were hired."}],
            "questions": [
                {"uid": "q3", "question": "How many sales staff were employed?", "answer": "12", "answer_from": "table-text", "rel_paragraphs": ["1"]},
            ],
        },
    ]
    # distractors, so that five units are a small share of the pool; and one question whose gold
    # paragraph shares no word with it (a miss at any depth)
    for i, topic in enumerate(["shipping", "mining", "farming", "software", "insurance", "retail"]):
        contexts.append({
            "table": {"uid": f"d{i}", "table": [["Segment", "2019"], [f"{topic.title()} division", str(100 + i)]]},
            "paragraphs": [
                {"uid": f"dp{i}a", "order": 1, "text": f"The {topic} business reported steady results this year."},
                {"uid": f"dp{i}b", "order": 2, "text": f"Management expects {topic} margins to improve."},
            ],
            "questions": [],
        })
    contexts[-1]["questions"].append(
        {"uid": "q4", "question": "Which zebra crossed?", "answer": "x", "answer_from": "text", "rel_paragraphs": ["1"]}
    )
    path = tmp_path / "tatqa_dataset_dev.json"
    path.write_text(json.dumps(contexts))
    return path


def test_header_rows_and_table_document():
    rows = [["", "Years Ended", ""], ["", "2019", "2018"], ["Fixed Price", "$ 1,452.4", "$ 1,146.2"], ["Other", "44.1", "56.7"]]
    assert header_rows(rows) == 2
    doc = table_document({"uid": "x", "table": rows})
    assert doc.blocks[0].kind == "table" and doc.blocks[0].table.header_rows == 2
    assert table_document({"uid": "x", "table": rows}, "text").blocks[0].kind == "text"


def test_gold_units(tmp_path: Path):
    ctx = json.loads(_fixture(tmp_path).read_text())[1]
    assert gold_units(ctx, ctx["questions"][0]) == {"table:t2", "para:p3"}


def test_evaluate_hits(tmp_path: Path):
    path = _fixture(tmp_path)
    ragkit.open(tmp_path / "s", hash_config()).close()
    result = evaluate_tatqa(path, store=tmp_path / "s", mode="lexical")
    assert result["questions"] == 4 and result["units"] == 23
    # q1-q3 share their distinctive words only with their gold unit; q4 shares none with its gold
    assert result["hit@1"] == result["hit@5"] == 0.75
    assert result["by_answer_from"] == {
        "table": {"questions": 1, "hit@1": 1.0, "hit@5": 1.0},
        "table-text": {"questions": 1, "hit@1": 1.0, "hit@5": 1.0},
        "text": {"questions": 2, "hit@1": 0.5, "hit@5": 0.5},
    }
