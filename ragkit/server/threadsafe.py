"""One embedder shared by the server's request threads: the tokenizer of a Hugging Face model is not
safe to call from two threads at once (concurrent calls corrupt its padding state), so every call into
the model goes through one lock. Long calls (an answer's sentences) are split into slices of
``SLICE`` texts, each taking the lock anew, so a query's embedding waits for one slice at most.
Index jobs use an embedder of their own."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

LOCKED = frozenset({"embed_query", "token_offsets", "count_tokens", "token_lengths"})
SLICE = 16


class SerializedEmbedder:
    """Wraps an embedder: the model-calling methods hold a lock, everything else passes through."""

    def __init__(self, inner: Any):
        self._inner = inner
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if len(texts) <= SLICE:
            with self._lock:
                return self._inner.embed(texts)
        parts = []
        for start in range(0, len(texts), SLICE):
            with self._lock:
                parts.append(np.asarray(self._inner.embed(texts[start : start + SLICE])))
        return np.concatenate(parts)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name not in LOCKED or not callable(value):
            return value

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return value(*args, **kwargs)

        return locked

    def __repr__(self) -> str:
        return f"SerializedEmbedder({self._inner!r})"
