"""A read pins one committed generation (SQLite snapshot) and sees another process's vector writes."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import ragkit
from ragkit.store import Store
from tests.conftest import REPO, hash_config, write_files


def _index_in_child(store: Path, docs: Path) -> None:
    """``index`` in another process, as a separate writer would."""
    code = "import sys, ragkit; k = ragkit.open(sys.argv[1]); k.index([sys.argv[2]]); k.close()"
    subprocess.run([sys.executable, "-c", code, str(store), str(docs)], check=True, cwd=REPO,
                   env=dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1"), capture_output=True, timeout=300)


def test_a_snapshot_keeps_its_generation_while_another_writer_commits(tmp_path: Path):
    docs = write_files(tmp_path / "docs", {"a.txt": "alpha bravo charlie", "b.txt": "delta echo foxtrot"})
    kit = ragkit.open(tmp_path / "store", hash_config())
    kit.index([docs])
    reader = Store(tmp_path / "store")
    with reader.snapshot() as gen:
        before = set(reader.all_chunk_ids())
        (docs / "c.txt").write_text("golf hotel india")
        (docs / "a.txt").unlink()
        kit.index([docs])  # commits generation gen + 1 on another connection
        assert reader.generation == gen and set(reader.all_chunk_ids()) == before
        assert set(reader.lexical().ids) == before  # the lexical index of the pinned generation
        with reader.snapshot() as inner:  # re-entrant: stays on the outer generation
            assert inner == gen
    assert reader.generation == gen + 1 and set(reader.all_chunk_ids()) != before
    reader.close()
    kit.close()


def test_a_reader_sees_vectors_another_process_wrote(tmp_path: Path):
    """An embedded chroma keeps the HNSW index it loaded; a read at a new generation reloads it."""
    docs = write_files(tmp_path / "docs", {"a.txt": "alpha bravo charlie"})
    ragkit.open(tmp_path / "store", hash_config()).close()
    _index_in_child(tmp_path / "store", docs)
    kit = ragkit.open(tmp_path / "store")
    assert [h.chunk.source for h in kit.search("alpha bravo", mode="dense")] == [str((docs / "a.txt").resolve())]
    other = kit.store.vector_collection(kit.store.collection_name)  # a second view, loaded now
    assert other.count() == 1 and len(other.query(np.ones(64, dtype=np.float32), 5)) == 1
    (docs / "new.txt").write_text("zulu yankee xray whiskey")
    (docs / "a.txt").unlink()
    _index_in_child(tmp_path / "store", docs)
    hits = kit.search("zulu yankee xray whiskey", k=1, mode="dense")
    assert hits and hits[0].chunk.source == str((docs / "new.txt").resolve())
    assert hits[0].generation == kit.store.generation
    assert hits[0].score > 0.99
    # without a refresh, the view loaded before the other process wrote misses the new vector
    query = np.asarray(kit.embedder.embed_query("zulu yankee xray whiskey"), dtype=np.float32)
    assert hits[0].chunk.chunk_id not in [cid for cid, _ in other.query(query, 5)]
    other.refresh()
    assert other.query(query, 1)[0][0] == hits[0].chunk.chunk_id
    kit.close()
