"""BEIR and multi-hop readers on tiny fixtures of each format, written here."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from ragkit.eval.beir import BeirDataset, read_qrels, to_document
from ragkit.eval.multihop import load_multihop, paragraph_documents, paragraph_id

CORPUS = [
    {"_id": "d1", "title": "Aspirin", "text": "Aspirin reduces fever."},
    {"_id": "d2", "title": "", "text": "Ibuprofen is an NSAID."},
    {"_id": 3, "title": "Untitled", "text": ""},
]


def write_beir(root: Path, gz: bool, header: bool, crlf: bool) -> Path:
    root.mkdir()
    lines = "".join(json.dumps(r) + "\n" for r in CORPUS)
    if gz:
        with gzip.open(root / "corpus.jsonl.gz", "wt", encoding="utf-8") as fh:
            fh.write(lines)
    else:
        (root / "corpus.jsonl").write_text(lines + "\n", encoding="utf-8")
    queries = [{"_id": "q1", "text": "fever drug"}, {"_id": "q2", "text": "nsaid"}, {"_id": "q3", "text": "none"}]
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (root / "qrels").mkdir()
    rows = (["query-id\tcorpus-id\tscore"] if header else []) + ["q1\td1\t1", "q2\td2\t2", "q3\td1\t0"]
    end = "\r\n" if crlf else "\n"
    (root / "qrels" / "test.tsv").write_bytes((end.join(rows) + end).encode())
    return root


@pytest.mark.parametrize("gz,header,crlf", [(False, True, True), (True, False, False), (True, True, False)])
def test_beir_layouts(tmp_path: Path, gz: bool, header: bool, crlf: bool) -> None:
    ds = BeirDataset(write_beir(tmp_path / "ds", gz, header, crlf))
    assert ds.splits() == ["test"]
    assert [r["_id"] for r in ds.corpus()] == ["d1", "d2", "3"]
    assert ds.qrels("test") == {"q1": {"d1": 1}, "q2": {"d2": 2}, "q3": {"d1": 0}}
    queries, qrels = ds.split_queries("test")
    assert queries == {"q1": "fever drug", "q2": "nsaid"}  # q3 has no positive judgment
    docs = list(ds.documents())
    assert docs[0].doc_id == "d1" and docs[0].text == "Aspirin\n\nAspirin reduces fever."
    assert [b.kind for b in docs[0].blocks] == ["heading", "text"]
    for doc in docs:
        for block in doc.blocks:
            assert 0 <= block.start < block.end <= len(doc.text)
    assert docs[1].text == "Ibuprofen is an NSAID." and docs[1].blocks[0].heading_path == []
    with pytest.raises(FileNotFoundError, match="no such split"):
        ds.qrels("dev")


def test_qrels_trec_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "q.txt"
    path.write_text("1 0 doc9 2\n1 0 doc8 0\n")
    assert read_qrels(path) == {"1": {"doc9": 2, "doc8": 0}}
    path.write_text("q\td\t1\nq\td2\n")
    with pytest.raises(ValueError, match=":2:"):
        read_qrels(path)


def test_to_document_spans() -> None:
    doc = to_document("x", " T ", " body ")
    assert doc.text == "T\n\nbody"
    assert doc.text[doc.blocks[1].start : doc.blocks[1].end] == "body"
    assert doc.metadata["title"] == "T"


HOTPOT = {
    "_id": "h1",
    "question": "Which band had the drummer Neil Peart?",
    "answer": "Rush",
    "supporting_facts": [["Rush (band)", 0], ["Neil Peart", 1]],
    "context": [
        ["Rush (band)", ["Rush was a Canadian rock band.", " It formed in 1968."]],
        ["Neil Peart", ["Neil Peart was a drummer.", " He joined Rush in 1974."]],
        ["Toto", ["Toto is an American band."]],
    ],
}
IRCOT = {
    "question_id": "i1",
    "question_text": "Who was Rush's drummer?",
    "answers_objects": [{"spans": ["Neil Peart"]}],
    "contexts": [
        {"id": "0", "title": "Neil Peart", "paragraph_text": "Neil Peart was a drummer.  He joined Rush in 1974.", "is_supporting": True},
        {"id": "1", "title": "Yes", "paragraph_text": "Yes is an English band.", "is_supporting": False},
    ],
}
MUSIQUE = {
    "id": "m1",
    "question": "When did the band of Neil Peart form?",
    "answer": "1968",
    "paragraphs": [
        {"idx": 0, "title": "Rush (band)", "paragraph_text": "Rush was a Canadian rock band. It formed in 1968.", "is_supporting": True},
        {"idx": 1, "title": "Genesis", "paragraph_text": "Genesis formed in 1967.", "is_supporting": False},
    ],
}


def test_multihop_formats_pool_and_dedupe(tmp_path: Path) -> None:
    (tmp_path / "hotpot.json").write_text(json.dumps([HOTPOT]))  # original HotpotQA: one JSON list
    (tmp_path / "ircot.jsonl").write_text(json.dumps(IRCOT) + "\n")
    (tmp_path / "musique.jsonl").write_text(json.dumps(MUSIQUE) + "\n\n")
    paragraphs, questions = load_multihop([tmp_path / "hotpot.json", tmp_path / "ircot.jsonl", tmp_path / "musique.jsonl"])
    titles = sorted(p.title for p in paragraphs)
    assert titles == ["Genesis", "Neil Peart", "Rush (band)", "Toto", "Yes"]  # the same paragraph once
    rush = paragraph_id("Rush (band)", "Rush was a Canadian rock band. It formed in 1968.")
    peart = paragraph_id("Neil Peart", "Neil Peart was a drummer. He joined Rush in 1974.")
    by_id = {q.qid: q for q in questions}
    assert by_id["h1"].gold == [rush, peart]
    assert by_id["i1"].gold == [peart] and by_id["i1"].text == "Who was Rush's drummer?"
    assert by_id["m1"].gold == [rush]
    docs = list(paragraph_documents(paragraphs))
    assert {d.doc_id for d in docs} == {p.pid for p in paragraphs}
    assert any(d.text.startswith("Neil Peart\n\nNeil Peart was a drummer.") for d in docs)


def test_multihop_unknown_format(tmp_path: Path) -> None:
    (tmp_path / "x.jsonl").write_text(json.dumps({"foo": 1}) + "\n")
    with pytest.raises(ValueError, match="record 1"):
        load_multihop([tmp_path / "x.jsonl"])
