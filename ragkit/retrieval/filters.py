"""Metadata filters resolved once per store generation: ``where`` dict -> allowed chunk ids.

Every retriever applies the same allowed set before ranking (a lexical row mask, an exact dense search
over the allowed vectors or an HNSW over-fetch), so a filter never costs a chroma ``where`` scan.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any, Callable, TypeVar

T = TypeVar("T")

FILTER_KEYS = ("source_prefix", "format", "kind", "doc_id", "source")


def where_key(where: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...] | None:
    """A hashable, order-independent key for a filter; ``None`` for no filter (None or {})."""
    if not where:
        return None
    return tuple(sorted((str(k), str(v)) for k, v in where.items()))


class GenerationCache:
    """A small LRU of values computed from the store, emptied whenever the store's generation changes."""

    def __init__(self, generation: Callable[[], int], size: int = 32):
        self._generation = generation
        self._size = size
        self._gen: int | None = None
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.RLock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        gen = self._generation()
        with self._lock:
            if gen != self._gen:
                self._items.clear()
                self._gen = gen
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            value = compute()
            self._items[key] = value
            if len(self._items) > self._size:
                self._items.popitem(last=False)
            return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._gen = None


class FilterResolver:
    """Resolves ``where`` to the set of allowed chunk ids with ``store.filter_ids``, cached per generation."""

    def __init__(self, store: Any, size: int = 32):
        self.store = store
        self.cache = GenerationCache(lambda: store.generation, size)

    def allowed(self, where: Mapping[str, Any] | None) -> frozenset[str] | None:
        """Allowed chunk ids, or ``None`` when there is no filter."""
        key = where_key(where)
        if key is None:
            return None
        return self.cache.get(("ids", key), lambda: frozenset(self.store.filter_ids(dict(key))))
