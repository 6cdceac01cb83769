"""`ragkit eval beir`, `ragkit eval multihop` and `ragkit tune` end to end on tiny fixtures (hash embedder)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ragkit
from ragkit.config import Config

TOPICS = {
    "d1": ("Aspirin", "Aspirin lowers fever and relieves headache pain."),
    "d2": ("Orbit", "Rockets carry satellites into orbit around the earth."),
    "d3": ("Symphony", "The orchestra played a symphony with violins."),
    "d4": ("Python", "Python functions raise exceptions on errors."),
    "d5": ("Orchard", "Apples and pears grow in the orchard in autumn."),
}
QUERIES = {"q1": "fever headache pill", "q2": "satellite rocket launch", "q3": "violin orchestra", "q4": "apple orchard"}
QRELS = [("q1", "d1", 1), ("q2", "d2", 1), ("q3", "d3", 2), ("q4", "d5", 1)]


def hash_store(path: Path) -> Path:
    config = Config()
    config.embedder.name = "hash"
    ragkit.open(path, config).close()
    return path


@pytest.fixture()
def beir_dir(tmp_path: Path) -> Path:
    root = tmp_path / "tiny"
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text("".join(json.dumps({"_id": k, "title": t, "text": x}) + "\n" for k, (t, x) in TOPICS.items()))
    (root / "queries.jsonl").write_text("".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in QUERIES.items()))
    for split, rows in (("test", QRELS[:3]), ("train", QRELS[2:])):
        (root / "qrels" / f"{split}.tsv").write_text("query-id\tcorpus-id\tscore\r\n" + "".join(f"{q}\t{d}\t{s}\r\n" for q, d, s in rows))
    return root


def invoke(*args: str) -> dict:
    from ragkit.cli.main import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_eval_beir_json(beir_dir: Path, tmp_path: Path) -> None:
    store = hash_store(tmp_path / "store")
    data = invoke("eval", "beir", str(beir_dir), "--store", str(store), "--compare", "lexical,rrf", "--tune-split", "train", "--json", "--quiet")
    for key in ("ndcg@10", "recall@100", "mrr@10", "queries", "index_seconds", "query_ms_p50", "query_ms_p95"):
        assert key in data, key
    assert data["queries"] == 3 and data["documents"] == 5
    assert data["name"] == "tuned" and "tuning" in data
    assert set(data["modes"]) == {"lexical", "rrf"}
    assert 0.0 <= data["ndcg@10"] <= 1.0
    assert data["modes"]["lexical"]["ndcg@10"] == pytest.approx(1.0)  # each query names its topic
    again = invoke("eval", "beir", str(beir_dir), "--store", str(store), "--mode", "dense", "--json", "--quiet")
    assert again["name"] == "dense" and "modes" not in again


def test_eval_multihop_json(tmp_path: Path) -> None:
    record = {
        "question_id": "x1", "question_text": "Which band did Neil Peart drum for?",
        "contexts": [
            {"title": "Neil Peart", "paragraph_text": "Neil Peart was the drummer of Rush.", "is_supporting": True},
            {"title": "Rush (band)", "paragraph_text": "Rush was a Canadian rock band.", "is_supporting": True},
            {"title": "Toto", "paragraph_text": "Toto is an American band.", "is_supporting": False},
        ],
    }
    path = tmp_path / "ircot.jsonl"
    path.write_text(json.dumps(record) + "\n")
    data = invoke("eval", "multihop", str(path), "--store", str(hash_store(tmp_path / "s")), "--compare", "lexical", "--json", "--quiet")
    assert data["questions"] == 1 and data["paragraphs"] == 3
    assert 0.0 <= data["recall@2"] <= data["recall@5"] == 1.0
    assert "lexical" in data["modes"]


def test_tune_saves_the_weight(beir_dir: Path, tmp_path: Path) -> None:
    store = hash_store(tmp_path / "store")
    invoke("eval", "beir", str(beir_dir), "--store", str(store), "--mode", "lexical", "--json", "--quiet")
    data = invoke("tune", "--queries", str(beir_dir / "queries.jsonl"), "--qrels", str(beir_dir / "qrels" / "test.tsv"), "--store", str(store), "--json")
    assert data["queries"] == 3 and data["saved"] is True
    assert 0.0 <= data["weight"] <= 1.0 and data["normalization"] in ("minmax", "zscore")
    saved = Config.load(store).retrieval
    assert (saved.weight, saved.normalization, saved.fusion) == (data["weight"], data["normalization"], "cc")
