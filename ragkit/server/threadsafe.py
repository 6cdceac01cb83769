"""One embedder shared by the server's request threads: the tokenizer of a Hugging Face model is not
safe to call from two threads at once (concurrent calls corrupt its padding state), so every call into
the model goes through one lock. Long calls (an answer's sentences) are split into slices of
``SLICE`` texts, each taking the lock anew, so a query's embedding waits for one slice at most.
Index jobs use an embedder of their own."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

SLICE = 16


class TokenEmbedder(Protocol):
    """What the server's Kit asks of its embedder: ``ragkit.protocols.Embedder`` and the tokenizer."""

    name: str

    @property
    def dimension(self) -> int: ...

    def settings(self) -> dict[str, Any]: ...

    def count_tokens(self, text: str) -> int: ...

    def token_offsets(self, text: str) -> list[tuple[int, int]]: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class SerializedEmbedder:
    """Wraps an embedder: the model-calling methods hold a lock, everything else passes through."""

    def __init__(self, inner: TokenEmbedder):
        self._inner = inner
        self._lock = threading.Lock()
        self.name = inner.name

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    def settings(self) -> dict[str, Any]:
        return self._inner.settings()

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

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return self._inner.embed_query(text)

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return self._inner.count_tokens(text)

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        with self._lock:
            return self._inner.token_offsets(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # anything else (model, max_tokens, ...) as the inner one has it

    def __repr__(self) -> str:
        return f"SerializedEmbedder({self._inner!r})"
