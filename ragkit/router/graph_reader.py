"""The read side of a store's graph: the derived in-memory graph of the committed generation (cached
on disk per generation), the views principals see, and the entity-name linker. The router, the answer
evidence and ``kit.graph`` all read the graph through one of these."""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from graphs.traverse import GraphIndex
from ragkit.access import Scope, Who, principal as as_principal

if TYPE_CHECKING:
    from ragkit.config import Config
    from ragkit.protocols import Embedder
    from ragkit.store import Store

VIEWS = 8  # principals' graph views kept per generation

Linker = Callable[[str, list[str]], list[tuple[str, str, str]]]  # (text, taken surfaces) -> (entity, surface, how)


class GraphReader:
    """The graph of one store, read only. Cheap to construct; the derived graph loads on first use."""

    def __init__(self, store: Store, embedder: Embedder, config: Config):
        self.store = store
        self.embedder = embedder
        self.config = config
        self._index: GraphIndex | None = None
        self._lock = threading.Lock()
        self._views: dict[tuple[tuple[int, int], str], GraphIndex] = {}
        self._names: tuple[tuple[int, int], list[str], np.ndarray] | None = None
        self.load_seconds = 0.0

    @property
    def index(self) -> GraphIndex:
        """The derived graph of the committed generation (rebuilt when the generation moved)."""
        gen = (self.store.generation, int(self.store.get_meta("graph_merges", 0)))
        with self._lock:
            if self._index is None or self._index.generation != gen:
                t0 = time.perf_counter()
                self._index = self._load_cached(gen)
                self.load_seconds = time.perf_counter() - t0
            return self._index

    def _load_cached(self, gen: tuple[int, int]) -> GraphIndex:
        """The derived graph from its on-disk cache for this generation, else built from the manifest
        rows and cached (written beside, published by an atomic rename; older caches removed). The
        cache is data (``graphs.snapshot``), never a pickle: a store built by someone else runs no code."""
        from graphs import snapshot

        folder = self.store.path / "graph"
        path = folder / f"gen-{gen[0]}-{gen[1]}-v{GraphIndex.FORMAT}.npz"
        if path.exists():
            try:
                index = snapshot.load(path)
                if index.generation == gen and index.format == GraphIndex.FORMAT:
                    return index
            except (OSError, ValueError, KeyError, TypeError):  # a damaged cache is rebuilt from the manifest
                pass
        index = GraphIndex(self.store.db, gen)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".tmp-{os.getpid()}-{path.name}"
            with tmp.open("wb") as fh:
                snapshot.save(index, fh)
            os.replace(tmp, path)
            keep = {path.name, f"names-{path.name}"}  # this generation's graph and name vectors
            for old in folder.iterdir():  # other generations' caches (and pickles of older versions) go
                if old.name not in keep and not old.name.startswith(".tmp-"):
                    old.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only store: the graph still works, uncached
        return index

    def view(self, principal: Who = None) -> GraphIndex:
        """The graph ``principal`` may see: only nodes, edges, entities, aliases and relations that
        chunks of documents it reads support (``graphs.visible``); the whole graph for None / ``*``."""
        from graphs.visible import restrict

        who = as_principal(principal)
        index = self.index
        if who is None or who.everything:
            return index
        key = (index.generation, who.key())
        with self._lock:
            found = self._views.get(key)
        if found is not None:
            return found
        readable = self.store.filter_ids(Scope(principal=who))
        view = restrict(index, readable, self.store.db)
        with self._lock:
            self._views = {k: v for k, v in self._views.items() if k[0] == index.generation}
            if len(self._views) >= VIEWS:
                self._views.pop(next(iter(self._views)))
            self._views[key] = view
        return view

    def name_vectors(self) -> tuple[list[str], np.ndarray]:
        """(entity ids, unit name vectors) for embedding links, computed once per graph generation on
        first use and cached beside the graph (``graph/names-gen-G-M-vF.npz``)."""
        from graphs.linking import entity_vectors

        index = self.index
        with self._lock:
            cached = self._names
            if cached is not None and cached[0] == index.generation:
                return cached[1], cached[2]
            folder = self.store.path / "graph"
            path = folder / f"names-gen-{index.generation[0]}-{index.generation[1]}-v{GraphIndex.FORMAT}.npz"
            ids: list[str] | None = None
            if path.exists():
                try:
                    with np.load(path, allow_pickle=False) as data:
                        ids, vectors = [str(x) for x in data["ids"]], data["vectors"]
                except (OSError, ValueError, KeyError):  # a damaged cache is recomputed
                    ids = None
            if ids is None:
                ids, vectors = entity_vectors(index, self.embedder.embed)
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                    tmp = folder / f".tmp-{os.getpid()}-{path.name}"
                    with tmp.open("wb") as fh:
                        np.savez(fh, ids=np.array(ids, dtype=str), vectors=vectors)
                    os.replace(tmp, path)
                except OSError:
                    pass  # a read-only store: computed again by the next process
            self._names = (index.generation, ids, vectors)
            return ids, vectors

    def linker(self) -> Linker | None:
        """``link(text, taken)`` -> embedding links of the phrases of ``text`` not covered by the
        ``taken`` surfaces, or None when ``graph.link_threshold`` is 0 (exact and alias linking only)."""
        from graphs.linking import embedding_links

        threshold = float(self.config.graph.link_threshold or 0.0)
        if threshold <= 0:
            return None

        def link(text: str, taken: list[str]) -> list[tuple[str, str, str]]:
            ids, vectors = self.name_vectors()
            return [(e, s, how) for e, s, how, _ in embedding_links(text, taken, ids, vectors, self.embedder.embed, threshold)]

        return link

    def available(self) -> bool:
        """Whether the store holds a graph (indexed with ``graph.enabled``)."""
        return self.store.db.execute("SELECT 1 FROM graph_nodes LIMIT 1").fetchone() is not None

    def invalidate(self) -> None:
        with self._lock:
            self._index = None

