"""The embedded chroma collection's change token, and the check before every write that relies on it."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import ragkit
from ragkit.config import Config, VectorStoreConfig
from ragkit.indexes.chroma import ChromaVectorStore
from tests.conftest import write_files


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 8)).astype(np.float32)


def test_change_token_changes_with_each_write_and_only_then(tmp_path: Path) -> None:
    store = ChromaVectorStore(tmp_path / "v", collection="col")
    ids = [f"id{i}" for i in range(20)]
    store.upsert(ids, _vectors(20))
    token = store.change_token()
    assert token is not None and token.startswith(f"{store.collection.id}:")
    store.query_batch(_vectors(2, seed=1), 3)
    store.get_vectors(ids[:3])
    assert store.change_token() == token  # reads change nothing
    store.close()
    reopened = ChromaVectorStore(tmp_path / "v", collection="col")
    assert reopened.change_token() == token
    reopened.delete(ids[:1])
    after_delete = reopened.change_token()
    assert after_delete != token
    reopened.upsert(ids[1:2], _vectors(1, seed=2))
    assert reopened.change_token() not in (token, after_delete)
    reopened.close()


def test_change_token_of_a_recreated_folder_differs(tmp_path: Path) -> None:
    first = ChromaVectorStore(tmp_path / "a", collection="col")
    first.upsert(["x"], _vectors(1))
    second = ChromaVectorStore(tmp_path / "b", collection="col")
    second.upsert(["x"], _vectors(1))
    assert first.change_token() != second.change_token()  # same writes, another collection id


def test_change_token_of_a_relative_path(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # `ragkit index docs --store .ragkit` opens the store by a relative path
    store = ChromaVectorStore(Path("store with space") / "v", collection="col")
    store.upsert(["x"], _vectors(1))
    assert store.change_token() is not None


def test_a_server_has_no_token() -> None:
    server = ChromaVectorStore(Path("unused"), VectorStoreConfig(name="chroma-http", host="127.0.0.1", port=9))
    assert server.change_token() is None  # decided from the config: nothing is contacted


def test_check_before_a_write_counts_vectors_only_after_another_writer(tmp_path: Path, monkeypatch) -> None:
    config = Config()
    config.embedder.name = "hash"
    docs = write_files(tmp_path / "docs", {f"d{i}.txt": f"text of file {i}. " * 40 for i in range(4)})
    kit = ragkit.open(tmp_path / "s", config)
    kit.index(docs)
    counted: list[int] = []
    real_count = ChromaVectorStore.count
    monkeypatch.setattr(ChromaVectorStore, "count", lambda self: counted.append(1) or real_count(self))
    kit.index(docs)  # nothing changed since the last commit: the token says so, no scan of chroma
    assert counted == []
    (docs / "d0.txt").write_text("changed text. " * 40)
    kit.index(docs)
    kit.index(docs)  # the commit before recorded its own writes' token
    assert counted == []
    outsider = ChromaVectorStore(tmp_path / "s" / "vectors", collection=kit.store.collection_name)
    lost = sorted(outsider.ids())[:2]
    outsider.delete(lost)
    kit.index(docs)  # another writer changed the collection: the check counts, finds and restores
    assert counted == [1]
    assert kit.store.vectors.get_vectors(lost).shape[0] == 2
    assert kit.check().ok
    kit.close()
