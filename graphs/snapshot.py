"""A GraphIndex saved as data (JSON and arrays in one ``.npz``, read with ``allow_pickle=False``), so a
store's graph cache can be loaded without running code from the store directory: opening a store that
someone else built must never unpickle their file. Hand-written because the index is a few dicts,
lists and sparse matrices, which numpy and json already store."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import IO, Any

import numpy as np

from graphs.traverse import GraphIndex, structure_rows

_PLAIN = ("merges", "chunk_doc", "chunk_ids", "entity_ids", "names", "labels", "aliases")
_SPARSE = ("mentions", "relation_matrix")


def save(index: GraphIndex, out: IO[bytes]) -> None:
    """Write ``index`` to the binary file ``out``."""
    state: dict[str, Any] = {name: getattr(index, name) for name in _PLAIN}
    state |= {
        "format": index.format,
        "generation": list(index.generation) if isinstance(index.generation, tuple) else index.generation,
        "relations": index.relations,
        "own_title": {str(row): sorted(cols) for row, cols in index.own_title.items()},
        "surfaces": {key: sorted(values) for key, values in index.surfaces.items()},
        "nodes": index.nodes,
        "edges": index._db_rows["edges"],
    }
    arrays: dict[str, np.ndarray] = {
        "state": np.frombuffer(json.dumps(state).encode("utf-8"), dtype=np.uint8), "titled": index.titled,
    }
    for name in _SPARSE:
        matrix = getattr(index, name)
        arrays |= {f"{name}.data": matrix.data, f"{name}.indices": matrix.indices, f"{name}.indptr": matrix.indptr,
                   f"{name}.shape": np.array(matrix.shape)}
    # numpy's stub types savez's keyword ``allow_pickle`` as bool, so a ``**dict`` of arrays fails its check
    np.savez(out, **arrays)  # type: ignore[arg-type]


def load(path: str | Path) -> GraphIndex:
    """The GraphIndex saved at ``path``; OSError, ValueError or KeyError when it is damaged."""
    import scipy.sparse as sp

    with np.load(path, allow_pickle=False) as data:
        state = json.loads(data["state"].tobytes().decode("utf-8"))
        matrices = {
            name: sp.csr_matrix(
                (data[f"{name}.data"], data[f"{name}.indices"], data[f"{name}.indptr"]),
                shape=tuple(int(n) for n in data[f"{name}.shape"]),
            )
            for name in _SPARSE
        }
        titled = data["titled"].astype(bool)
    index = GraphIndex.__new__(GraphIndex)
    for name in _PLAIN:
        setattr(index, name, state[name])
    generation = state["generation"]
    index.generation = tuple(generation) if isinstance(generation, list) else generation
    index.format = state["format"]
    index.relations = [tuple(r) for r in state["relations"]]
    index.own_title = defaultdict(set, {int(row): set(cols) for row, cols in state["own_title"].items()})
    index.surfaces = defaultdict(set, {key: set(values) for key, values in state["surfaces"].items()})
    index.titled = titled
    index.mentions, index.relation_matrix = matrices["mentions"], matrices["relation_matrix"]
    # what the constructor derives from the rows above
    index.chunk_row = {c: i for i, c in enumerate(index.chunk_ids)}
    index.entity_col = {e: i for i, e in enumerate(index.entity_ids)}
    index.df = np.asarray((index.mentions > 0).sum(axis=0)).ravel()
    index.words = defaultdict(list)
    for i, e in enumerate(index.entity_ids):
        for w in set(e.split()):
            index.words[w].append(i)
    index._db_rows = structure_rows(state["nodes"], [tuple(e) for e in state["edges"]])
    index._nx = index._adjacency = index._walk = None
    return index
