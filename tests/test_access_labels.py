"""Where labels come from and how they change: relabelling (same content, new labels) updates the
manifest, the lexical masks, the dense filter and the graph in one commit without re-embedding; the
labels given to ``index`` are kept until changed; sidecars and rules; old stores migrate; the CLI."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragkit.cli.main import app
from tests.access_fixture import DOCS, K, build
from tests.conftest import hash_config, write_files

MODES = ("lexical", "dense", "hybrid", "graph", "auto")


def _public(docs: Path) -> list[str]:
    return sorted(str((docs / rel).resolve()) for rel in DOCS if rel.startswith("public/"))


def _visible_docs(kit, who, query: str = "Nadia Petrova Acme Corporation Project Falcon") -> set[str]:
    return {h.chunk.doc_id for mode in MODES for h in kit.search(query, k=50, mode=mode, principal=who)}


def test_relabel_changes_visibility_everywhere_without_reembedding(tmp_path: Path):
    kit, docs = build(tmp_path)
    try:
        calls = []
        embed = kit.embedder.embed
        kit.embedder.embed = lambda texts: calls.append(len(texts)) or embed(texts)
        ids, vectors = set(kit.store.all_chunk_ids()), kit.store.vectors.ids()
        cached = kit.store.db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
        gen = kit.store.generation
        public = set(_public(docs))
        assert public <= _visible_docs(kit, "")
        assert "Nadia Petrova" in {e["name"] for e in kit.graph.entities(top=1000, principal="")}

        calls.clear()  # the searches above embedded their queries
        report = kit.index([docs / "public"], labels=["finance"])
        assert (report.relabeled, report.added, report.updated, report.unchanged, report.chunks) == (5, 0, 0, 0, 0)
        assert calls == []  # nothing embedded
        assert set(kit.store.all_chunk_ids()) == ids and kit.store.vectors.ids() == vectors
        assert kit.store.db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == cached
        assert kit.store.generation == gen + 1  # one commit
        assert not kit.check().problems
        assert _visible_docs(kit, "") == set()  # the public principal now reads nothing
        for mode in MODES:
            assert kit.search("Acme Corporation", k=K, mode=mode, principal="") == []
        assert kit.graph.entities(top=1000, principal="") == []
        assert kit.ask("Who leads Project Falcon?", principal="").abstained
        assert public <= _visible_docs(kit, "finance")
        assert len(kit.search("Acme Corporation rockets", k=K, mode="dense", principal="finance")) == K
        assert all(set(c.labels) == {"finance"} for d in public for c in kit.store.doc_chunks(d))

        again = kit.index([docs / "public"])  # no labels given: the ones given before are kept
        assert (again.unchanged, again.relabeled) == (5, 0)
        assert _visible_docs(kit, "") == set()

        calls.clear()
        back = kit.index([docs / "public"], labels=[])
        assert back.relabeled == 5 and calls == []
        assert public <= _visible_docs(kit, "")
        assert "Nadia Petrova" in {e["name"] for e in kit.graph.entities(top=1000, principal="")}
    finally:
        kit.close()


def test_sidecar_and_rule_changes_are_relabels(tmp_path: Path):
    kit, docs = build(tmp_path)
    try:
        press = str((docs / "public/press.md").resolve())
        (docs / "public/press.md.labels").write_text("legal\n")
        report = kit.index([docs])
        assert (report.relabeled, report.added, report.updated) == (1, 0, 0)
        assert press not in _visible_docs(kit, "") and press in _visible_docs(kit, "legal")
        (docs / "public/press.md.labels").unlink()
        assert kit.index([docs]).relabeled == 1
        assert press in _visible_docs(kit, "")

        kit.config.access.rules = [{"glob": "public/press.md", "labels": ["pr"]}]  # rules replace the hr rule
        report = kit.index([docs])
        assert report.relabeled == 3  # press gains "pr", the two hr documents lose "hr"
        labels = {d["doc_id"]: d["labels"] for d in kit.documents()}
        assert labels[press] == ["pr"] and labels[str((docs / "hr/salaries.md").resolve())] == []

        (docs / "public/press.md").write_text("# Press\n\nA new press release about Project Falcon.\n")
        report = kit.index([docs], labels=["x"])
        assert report.updated == 1 and report.relabeled == len(DOCS) - 1
        assert set(labels_of(kit, press)) == {"pr", "x"}
    finally:
        kit.close()


def labels_of(kit, doc_id: str) -> list[str]:
    return next(d["labels"] for d in kit.documents() if d["doc_id"] == doc_id)


def test_sdk_add_documents_relabels_in_place(hash_kit):
    from ragkit.types import Block, Document

    text = "The memo names Quentin Blake as the new auditor."
    doc = Document(doc_id="memo", source="memo", text=text, content_hash="h1", format="txt",
                   blocks=[Block("text", 0, len(text))], labels=["audit"])
    assert hash_kit.add_documents([doc]).added == 1
    assert hash_kit.search("auditor", k=3, mode="lexical", principal="") == []
    assert len(hash_kit.search("auditor", k=3, mode="lexical", principal="audit")) == 1
    doc.labels = []
    report = hash_kit.add_documents([doc])
    assert (report.relabeled, report.unchanged, report.chunks) == (1, 0, 0)
    assert len(hash_kit.search("auditor", k=3, mode="lexical", principal="")) == 1


def test_bad_labels_are_clear_errors(tmp_path: Path):
    import ragkit
    from ragkit.access import AccessError
    from ragkit.config import Config

    docs = write_files(tmp_path / "docs", {"a.md": "alpha", "b.md": "beta", "b.md.labels": "no good!\n"})
    kit = ragkit.open(tmp_path / "store", hash_config())
    report = kit.index([docs])
    assert report.added == 1 and len(report.failed) == 1  # the bad sidecar fails its file, not the folder
    assert "b.md.labels" in report.failed[0]["error"] and "invalid label" in report.failed[0]["error"]
    with pytest.raises(AccessError, match="--label"):
        kit.index([docs], labels=["white space"])
    kit.close()
    with pytest.raises(ValueError, match=r"access.rules\[0\]"):
        Config.from_dict({"access": {"rules": [{"pattern": "x"}]}})
    assert Config.from_dict({"access": {"rules": [{"glob": "hr/**", "labels": ["hr"]}]}}).access.rules


def test_an_old_store_migrates_and_stays_public(tmp_path: Path):
    import ragkit

    docs = write_files(tmp_path / "docs", {"a.md": "# A\n\nAlpha Centauri is a star system.\n"})
    kit = ragkit.open(tmp_path / "store", hash_config())
    kit.index([docs])
    kit.close()
    db = sqlite3.connect(tmp_path / "store" / "manifest.sqlite")
    db.execute("ALTER TABLE documents DROP COLUMN given_labels")  # the schema before access labels
    db.commit()
    db.close()
    kit = ragkit.open(tmp_path / "store")
    try:
        assert len(kit.search("Alpha Centauri", k=3, principal="")) == 1  # no labels: public
        assert kit.index([docs], labels=["astro"]).relabeled == 1
        assert kit.search("Alpha Centauri", k=3, principal="") == []
        assert len(kit.search("Alpha Centauri", k=3, principal="astro")) == 1
    finally:
        kit.close()


def test_cli_label_and_as(tmp_path: Path):
    runner = CliRunner()
    store = str(tmp_path / "store")
    docs = write_files(tmp_path / "docs", {"pub.md": "# Pub\n\nThe cafeteria opens at eight.\n",
                                           "hr/pay.md": "# Pay\n\nPayroll runs on the cafeteria server.\n"})
    ok = runner.invoke(app, ["config", "set", "embedder.name", "hash", "--store", store])
    assert ok.exit_code == 0, ok.output

    def run(*args: str) -> object:
        result = runner.invoke(app, [*args, "--store", store, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    assert run("index", str(docs / "pub.md"))["added"] == 1
    assert run("index", str(docs / "hr"), "--label", "hr", "--label", "payroll")["added"] == 1
    for mode in MODES:
        public = run("search", "cafeteria", "--mode", mode, "--as", "")
        assert all("pay.md" not in h["source"] for h in public)
        if mode != "graph":  # graph alone finds only what a query's entities reach
            found = run("search", "cafeteria payroll", "--mode", mode, "--as", "payroll")
            assert any("pay.md" in h["source"] for h in found), mode
    assert any("pay.md" in h["source"] for h in run("search", "payroll"))  # the owner reads everything
    answer = run("ask", "When does payroll run?", "--as", "legal")
    assert all("pay.md" not in c["source"] for c in answer["citations"])
    assert all("payroll" not in e["name"].lower() for e in run("graph", "entities", "--as", ""))
    assert "Pay" in {e["name"] for e in run("graph", "entities", "--as", "hr")}
    assert run("index", str(docs / "hr"), "--no-label")["relabeled"] == 1
    assert any("pay.md" in h["source"] for h in run("search", "payroll", "--as", ""))
    bad = runner.invoke(app, ["search", "x", "--as", "bad label", "--store", store])
    assert bad.exit_code != 0 and "invalid label" in bad.output
