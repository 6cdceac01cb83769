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


def ranked_docs(kit, query: str, mode: str) -> list[str]:
    """Document ids in the order of their best chunk, straight from search (not the eval runner)."""
    order: list[str] = []
    for hit in kit.search(query, k=50, mode=mode):
        if hit.chunk.doc_id not in order:
            order.append(hit.chunk.doc_id)
    return order


def ndcg10_single(order: list[str], relevant: str) -> float:
    """nDCG@10 when one document is relevant: 1 / log2(rank + 1), 0 beyond rank 10."""
    import math

    rank = order.index(relevant) + 1 if relevant in order[:10] else 0
    return 1 / math.log2(rank + 1) if rank else 0.0


def mean_ndcg(
    store: Path, mode: str, rows, weight: float | None = None, normalization: str | None = None, fusion: str = "cc"
) -> float:
    kit = ragkit.open(store)
    kit.config.retrieval.fusion = fusion
    if weight is not None:
        kit.config.retrieval.weight = weight
        kit.config.retrieval.normalization = normalization
    try:
        return sum(ndcg10_single(ranked_docs(kit, QUERIES[q], mode), d) for q, d, _ in rows) / len(rows)
    finally:
        kit.close()


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
    tuning = data["tuning"]
    assert data["ndcg@10"] == pytest.approx(
        mean_ndcg(store, "hybrid", QRELS[:3], tuning["weight"], tuning["normalization"]), abs=1e-4
    )
    assert data["modes"]["lexical"]["ndcg@10"] == pytest.approx(1.0)  # each query names its topic
    assert data["modes"]["rrf"]["ndcg@10"] == pytest.approx(mean_ndcg(store, "hybrid", QRELS[:3], fusion="rrf"), abs=1e-4)
    again = invoke("eval", "beir", str(beir_dir), "--store", str(store), "--mode", "dense", "--json", "--quiet")
    assert again["name"] == "dense" and "modes" not in again
    assert again["ndcg@10"] == pytest.approx(mean_ndcg(store, "dense", QRELS[:3]), abs=1e-4)


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
    kit = ragkit.open(tmp_path / "s")
    titles = {d["doc_id"]: kit.store.document_text(d["doc_id"]).split("\n")[0] for d in kit.documents()}
    gold = {"Neil Peart", "Rush (band)"}
    for mode, result in (("hybrid", data), ("lexical", data["modes"]["lexical"])):
        order = [titles[d] for d in ranked_docs(kit, record["question_text"], mode)]
        assert result["recall@2"] == pytest.approx(len(gold & set(order[:2])) / 2)
        assert result["recall@5"] == pytest.approx(len(gold & set(order[:5])) / 2) == 1.0
    kit.close()


def test_tune_saves_the_weight(beir_dir: Path, tmp_path: Path) -> None:
    store = hash_store(tmp_path / "store")
    invoke("eval", "beir", str(beir_dir), "--store", str(store), "--mode", "lexical", "--json", "--quiet")
    data = invoke("tune", "--queries", str(beir_dir / "queries.jsonl"), "--qrels", str(beir_dir / "qrels" / "test.tsv"), "--store", str(store), "--json")
    assert data["queries"] == 3 and data["saved"] is True
    saved = Config.load(store).retrieval
    assert (saved.weight, saved.normalization, saved.fusion) == (data["weight"], data["normalization"], "cc")
    # the tuner's promise, checked by hand: the saved point scores what it reports, and is within one
    # standard error (of the per-query difference) of the best grid point
    import numpy as np

    saved_ndcg = mean_ndcg(store, "hybrid", QRELS[:3], data["weight"], data["normalization"])
    assert data["ndcg@10"] == pytest.approx(saved_ndcg, abs=1e-4)

    def per_query(weight: float, normalization: str) -> np.ndarray:
        return np.array([mean_ndcg(store, "hybrid", [row], weight, normalization) for row in QRELS[:3]])

    grid = {(w, m): per_query(w, m) for m in ("minmax", "zscore") for w in np.linspace(0, 1, 21).round(2)}
    best = max(grid, key=lambda point: grid[point].mean())
    chosen = per_query(data["weight"], data["normalization"])
    diff = grid[best] - chosen
    assert diff.mean() <= diff.std(ddof=1) / np.sqrt(len(diff)) + 1e-9
