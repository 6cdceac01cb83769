"""`vector_store.name = "chroma-http"` against a real `chroma run`: stores sharing a server never touch
each other's collections or vectors, nor anybody else's; check/repair works over HTTP."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import ragkit
from ragkit.config import Config, EmbedderConfig, VectorStoreConfig
from tests.conftest import write_files
from tests.test_ingest import assert_consistent


def http_config(host: str, port: int) -> Config:
    return Config(embedder=EmbedderConfig(name="hash"), vector_store=VectorStoreConfig(name="chroma-http", host=host, port=port))


def test_stores_share_a_server_without_touching_others(chroma_server, tmp_path: Path):
    import chromadb
    from chromadb.config import Settings

    host, port = chroma_server
    client = chromadb.HttpClient(host=host, port=port, settings=Settings(anonymized_telemetry=False))
    foreign = client.get_or_create_collection("chunks", embedding_function=None)  # another app's data
    foreign.add(ids=["theirs-1", "theirs-2"], embeddings=np.eye(2, 64, dtype=np.float32))

    docs_a = write_files(tmp_path / "a", {"one.txt": "Tide tables for the harbour.", "two.txt": "Glacier survey notes."})
    docs_b = write_files(tmp_path / "b", {"three.txt": "Orchard frost diary.", "four.txt": "Library map archive."})
    kit_a = ragkit.open(tmp_path / "store-a", http_config(host, port))
    kit_b = ragkit.open(tmp_path / "store-b", http_config(host, port))
    kit_a.index([docs_a])
    kit_b.index([docs_b])
    assert kit_a.store.collection_name != kit_b.store.collection_name != "chunks"
    assert_consistent(kit_a)
    assert_consistent(kit_b)

    # update, delete, rebuild (a new collection, the old one dropped) on store A
    (docs_a / "one.txt").write_text("Tide tables for the harbour, revised.")
    (docs_a / "two.txt").unlink()
    report = kit_a.index([docs_a])
    assert (report.updated, report.deleted) == (1, 1)
    old = kit_a.store.collection_name
    kit_a.index([docs_a], rebuild=True)
    assert kit_a.store.collection_name != old
    names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
    assert old not in names and kit_a.store.collection_name in names
    assert_consistent(kit_a)

    # nobody else's collection or vector was touched
    assert "chunks" in names and sorted(client.get_collection("chunks").get()["ids"]) == ["theirs-1", "theirs-2"]
    assert_consistent(kit_b)
    hits = kit_b.search("orchard frost", k=2, mode="dense")
    assert hits and hits[0].chunk.source.endswith("three.txt")
    assert kit_a.check().ok and kit_b.check().ok


def test_server_that_lost_and_gained_vectors_is_repaired(chroma_server, tmp_path: Path):
    host, port = chroma_server
    docs = write_files(tmp_path / "d", {f"n{i}.txt": f"Note {i} about topic {i % 3}." for i in range(20)})
    kit = ragkit.open(tmp_path / "store", http_config(host, port))
    kit.index([docs])
    before = {q: [h.chunk.chunk_id for h in kit.search(q, k=5, mode="lexical")] for q in ("topic 1", "note 7")}
    ids = kit.store.all_chunk_ids()
    collection = kit.store.vectors.collection
    collection.delete(ids=ids[:4])
    collection.add(ids=["stray-1"], embeddings=np.ones((1, 64), dtype=np.float32) / 8)
    report = kit.check()
    assert {p.kind for p in report.problems} == {"missing_vectors", "extra_vectors"}
    fixed = kit.check(repair=True)
    assert fixed.repaired and kit.check().ok
    assert kit.store.vectors.ids() == set(ids)
    assert {q: [h.chunk.chunk_id for h in kit.search(q, k=5, mode="lexical")] for q in before} == before
