"""Query embeddings: batched, cached, forgotten on request; exact top-k."""
from __future__ import annotations

import numpy as np

from ragkit.embedding import HashEmbedder
from ragkit.retrieval.dense import QueryEncoder, exact_top


class Counting(HashEmbedder):
    def __init__(self) -> None:
        super().__init__(dimension=16)
        self.calls: list[int] = []

    def embed(self, texts):  # type: ignore[override]
        self.calls.append(len(texts))
        return super().embed(texts)


def test_batch_cache_and_forget() -> None:
    embedder = Counting()
    encode = QueryEncoder(embedder, size=3)
    first = encode(["a b", "c d", "a b"])
    assert first.shape == (3, 16) and np.allclose(first[0], first[2])
    assert embedder.calls == [2]  # duplicates embedded once
    encode(["c d"])
    assert embedder.calls == [2]  # cached
    encode.forget("c d")
    encode(["c d"])
    assert embedder.calls == [2, 1]
    encode(["e", "f", "g"])
    assert "a b" not in encode._cache  # LRU bound


def test_exact_top() -> None:
    matrix = np.eye(4, dtype=np.float32)
    query = np.array([[0.1, 0.9, 0.5, 0.0]], dtype=np.float32)
    assert [i for i, _ in exact_top(["w", "x", "y", "z"], matrix, query, 2)[0]] == ["x", "y"]
    assert exact_top([], np.zeros((0, 4)), query, 2) == [[]]
