"""The manifest's row counters: exact after every kind of write, and added to stores made before them."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import ragkit
from ragkit.config import Config
from ragkit.eval.beir import to_document
from tests.conftest import write_files


def _config() -> Config:
    config = Config()
    config.embedder.name = "hash"
    return config


def _counted(store_dir: Path) -> tuple[int, int]:
    db = sqlite3.connect(store_dir / "manifest.sqlite")
    try:
        return tuple(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("documents", "chunks"))
    finally:
        db.close()


def _assert_counts(kit) -> None:
    assert (kit.store.count_documents(), kit.store.count_chunks()) == _counted(kit.path)


def test_counters_follow_add_update_delete_and_rebuild(tmp_path: Path) -> None:
    docs = write_files(tmp_path / "docs", {f"d{i}.md": f"# Doc {i}\n\n" + f"words of doc {i}. " * 60 for i in range(5)})
    kit = ragkit.open(tmp_path / "s", _config())
    kit.index(docs)
    _assert_counts(kit)
    assert kit.store.count_documents() == 5 and kit.store.count_chunks() > 5
    (docs / "d0.md").write_text("# Doc 0\n\n" + "longer text now. " * 300)  # more chunks than before
    (docs / "d1.md").unlink()
    kit.index(docs)
    _assert_counts(kit)
    kit.add_documents([to_document("extra", "t", "an extra document", {})])
    kit.delete(["extra"])
    kit.index(docs, rebuild=True)
    _assert_counts(kit)
    assert kit.store.count_documents() == 4
    kit.close()


def test_store_made_before_the_counters_gains_them_exact(tmp_path: Path) -> None:
    docs = write_files(tmp_path / "docs", {f"d{i}.txt": f"text of file {i}. " * 40 for i in range(3)})
    kit = ragkit.open(tmp_path / "s", _config())
    kit.index(docs)
    kit.close()
    db = sqlite3.connect(tmp_path / "s" / "manifest.sqlite")
    for table in ("documents", "chunks"):
        db.execute(f"DROP TRIGGER count_{table}_insert")
        db.execute(f"DROP TRIGGER count_{table}_delete")
    db.execute("DROP TABLE counts")
    db.commit()
    db.close()
    kit = ragkit.open(tmp_path / "s", _config())
    _assert_counts(kit)
    assert kit.store.count_documents() == 3
    (docs / "d3.txt").write_text("one more file. " * 40)
    kit.index(docs)
    _assert_counts(kit)
    assert kit.store.count_documents() == 4
    kit.close()
