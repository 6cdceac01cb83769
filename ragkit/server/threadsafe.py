"""One embedder shared by the server's request threads: the tokenizer of a Hugging Face model is not
safe to call from two threads at once (concurrent calls corrupt its padding state), so every call into
the model goes through one lock. Each call is short (a query, an answer's sentences); index jobs use
an embedder of their own."""
from __future__ import annotations

import threading
from typing import Any

LOCKED = frozenset({"embed", "embed_query", "token_offsets", "count_tokens", "token_lengths"})


class SerializedEmbedder:
    """Wraps an embedder: the model-calling methods hold a lock, everything else passes through."""

    def __init__(self, inner: Any):
        self._inner = inner
        self._lock = threading.Lock()

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
