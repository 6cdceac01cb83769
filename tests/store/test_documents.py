"""Document lookups of the manifest that an ingest uses instead of reading every document."""
from __future__ import annotations

from pathlib import Path

import ragkit
from ragkit.config import Config
from ragkit.eval.beir import to_document


def test_doc_ids_under_a_root_and_one_by_one(tmp_path: Path) -> None:
    config = Config()
    config.embedder.name = "hash"
    kit = ragkit.open(tmp_path / "s", config)
    ids = ["/a/b", "/a/b/c.txt", "/a/b/d/e.md", "/a/b.txt", "/a/bc.txt", "/a/b0", "/ab/x.txt", "/a/b-c/f.txt"]
    kit.add_documents([to_document(i, "t", f"text of {i}", {}) for i in ids])
    store = kit.store
    assert store.doc_ids_under("/a/b") == ["/a/b", "/a/b/c.txt", "/a/b/d/e.md"]
    assert store.doc_ids_under("/a/b/") == ["/a/b/c.txt", "/a/b/d/e.md"]  # "/a/b/" names no document itself
    assert store.doc_ids_under(Path("/a/b")) == store.doc_ids_under("/a/b")
    assert store.doc_ids_under("/a/b.txt") == ["/a/b.txt"]
    assert store.doc_ids_under("/a") == [i for i in ids if i.startswith("/a/")]
    assert store.doc_ids_under("/nowhere") == []
    assert store.count_documents() == len(ids)
    state = store.doc_state("/a/bc.txt")
    assert state is not None and state[1] == [] and store.doc_state("/a/zz") is None
    kit.close()


def test_iter_doc_keys_pages_every_document_once_in_id_order(tmp_path: Path) -> None:
    config = Config()
    config.embedder.name = "hash"
    kit = ragkit.open(tmp_path / "s", config)
    ids = [f"/d/{n:02d}-{name}.txt" for n, name in enumerate("kilo alpha echo bravo juliet delta golf".split())]
    kit.add_documents([to_document(i, "t", f"text of {i}", {}) for i in ids])
    for page in (1, 3, 7, 50):
        pages = list(kit.store.iter_doc_keys(page))
        assert [len(p) for p in pages] == [min(page, len(ids) - i) for i in range(0, len(ids), page)]
        assert [doc_id for p in pages for doc_id, _ in p] == sorted(ids)
    kit.close()
    empty = ragkit.open(tmp_path / "empty", config)
    assert list(empty.store.iter_doc_keys(10)) == []
    empty.close()
