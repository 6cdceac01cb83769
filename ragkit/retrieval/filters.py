"""Scopes resolved once per store generation: a :class:`ragkit.access.Scope` -> allowed chunk ids.

Every retriever applies the same allowed set before ranking (a lexical row mask, an exact dense search
over the allowed vectors or an HNSW over-fetch), so a filter never costs a chroma ``where`` scan.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Protocol, TypeVar

from ragkit.access import Scope

T = TypeVar("T")

FILTER_KEYS = ("source_prefix", "format", "kind", "doc_id", "source")


def scope_key(scope: Scope | None) -> tuple[tuple[str, str], ...] | None:
    """A hashable, order-independent key for a scope; ``None`` when it sees everything."""
    return None if scope is None else scope.key()


class ScopedStore(Protocol):
    """What the resolver reads: the committed generation and the chunk ids a scope sees."""

    @property
    def generation(self) -> int: ...

    def filter_ids(self, scope: Scope) -> set[str]: ...


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
                found: T = self._items[key]  # stored by this method under ``key``: a T
                return found
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
    """Resolves a scope to the set of allowed chunk ids with ``store.filter_ids``, cached per generation."""

    def __init__(self, store: ScopedStore, size: int = 32):
        self.store = store
        self.cache = GenerationCache(lambda: store.generation, size)

    def allowed(self, scope: Scope | None) -> frozenset[str] | None:
        """Allowed chunk ids, or ``None`` when the scope sees everything."""
        key = scope_key(scope)
        if key is None or scope is None:
            return None
        return self.cache.get(("ids", key), lambda: frozenset(self.store.filter_ids(scope)))
