"""The graph's on-disk cache is data, never a pickle: a store built by someone else runs no code when
opened, and the cached graph equals the one built from the manifest."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from tests.conftest import write_files
from tests.test_router import CORPUS


class _Payload:
    """Unpickling this runs ``os.system``: what a hostile store could plant."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _same(a, b) -> None:
    for name in ("generation", "merges", "chunk_doc", "chunk_ids", "chunk_row", "entity_ids", "entity_col", "names",
                 "labels", "aliases", "relations", "format"):
        assert getattr(a, name) == getattr(b, name), name
    assert dict(a.own_title) == dict(b.own_title) and dict(a.words) == dict(b.words)
    assert {k: set(v) for k, v in a.surfaces.items()} == {k: set(v) for k, v in b.surfaces.items()}
    assert np.array_equal(a.titled, b.titled) and np.array_equal(a.df, b.df)
    for name in ("mentions", "relation_matrix"):
        assert (getattr(a, name) != getattr(b, name)).nnz == 0, name
    assert a.nodes == b.nodes and a._db_rows["edges"] == b._db_rows["edges"]
    assert dict(a._db_rows["children"]) == dict(b._db_rows["children"])
    assert dict(a._db_rows["parents"]) == dict(b._db_rows["parents"])


def test_a_planted_pickle_is_never_loaded(graph_kit, tmp_path: Path):
    import ragkit
    from graphs.traverse import GraphIndex

    graph_kit.index(write_files(tmp_path / "docs", CORPUS))
    gen = (graph_kit.store.generation, graph_kit.store.get_meta("graph_merges", 0))
    folder = graph_kit.path / "graph"
    folder.mkdir(exist_ok=True)
    marker = tmp_path / "pwned"
    for name in (f"gen-{gen[0]}-{gen[1]}-v{GraphIndex.FORMAT}.pickle", f"gen-{gen[0]}-{gen[1]}-v{GraphIndex.FORMAT}.npz"):
        (folder / name).write_bytes(pickle.dumps(_Payload(marker)))
    graph_kit.close()
    kit = ragkit.open(graph_kit.path)
    try:
        assert kit.graph.index.entity_ids  # the graph works: built from the manifest
        hits = kit.search("Which river flows through the city where Marie Curie was born?", k=3, mode="auto")
        assert hits
        assert not marker.exists(), "opening the store ran code from its graph cache"
        assert not any(p.suffix == ".pickle" for p in folder.iterdir())
    finally:
        kit.close()


def test_the_cached_graph_equals_the_built_one(graph_kit, tmp_path: Path):
    import ragkit
    from graphs.traverse import GraphIndex

    graph_kit.index(write_files(tmp_path / "docs", CORPUS))
    built = graph_kit.graph.index
    graph_kit.close()
    kit = ragkit.open(graph_kit.path)  # a new process-like open reads the cache
    try:
        cached = kit.graph._load_cached(built.generation)
        assert isinstance(cached, GraphIndex)
        _same(cached, GraphIndex(kit.store.db, built.generation))
        seeds = {built.entity_ids[0]: 1.0}
        assert np.allclose(cached.ppr(seeds, None), built.ppr(seeds, None))
    finally:
        kit.close()
