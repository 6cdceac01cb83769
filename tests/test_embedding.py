"""The default embedder: token-length batches give the vectors of a plain encode, in input order."""
from __future__ import annotations

import numpy as np


def test_token_bucketed_batches_match_plain_encode_in_input_order(minilm_embedder):
    # lengths deliberately shuffled: short, very long (truncated at the window), medium, empty-ish
    texts = [
        "Install ragkit.",
        "Chromadb persists vectors on disk; " * 60,
        "The lexical index uses BM25 over stemmed tokens of every chunk.",
        "a",
        "Crash-safe commits publish the lexical index by an atomic rename after the manifest commits.",
    ]
    default, minilm_embedder.batch_size = minilm_embedder.batch_size, 2
    try:
        got = minilm_embedder.embed(texts)
    finally:
        minilm_embedder.batch_size = default
    want = minilm_embedder.model.encode(texts, batch_size=16, normalize_embeddings=True, convert_to_numpy=True)
    assert got.shape == (5, minilm_embedder.dimension) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_token_lengths_count_special_tokens_and_stop_at_the_window(minilm_embedder):
    short, long = minilm_embedder.token_lengths(["hello world", "word " * 1000])
    assert short == minilm_embedder.count_tokens("hello world") + 2
    assert long == minilm_embedder.max_tokens


def test_empty_input_gives_an_empty_matrix(minilm_embedder):
    assert minilm_embedder.embed([]).shape == (0, minilm_embedder.dimension)


def test_embed_query_equals_embedding_the_text_alone(minilm_embedder):
    texts = ["What causes tides?", "Aspirin reduces the risk of heart attack in adults over 50.", "x"]
    for text in texts:
        vector = minilm_embedder.embed_query(text)
        assert vector.dtype == np.float32 and vector.shape == (minilm_embedder.dimension,)
        assert np.array_equal(vector, minilm_embedder.embed([text])[0])
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
