"""The server's embedder is safe to call from many request threads at once (unwrapped, concurrent
batches of different lengths fail inside the tokenizer: "Unable to create tensor ...")."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ragkit.server.threadsafe import SerializedEmbedder


def test_concurrent_batches_match_serial_ones(minilm_embedder):
    texts = [("word " * n).strip() for n in range(1, 24)]
    batches = [[texts[i], texts[-1 - i] + " end"] for i in range(len(texts))]  # padded differently per call
    serial = [minilm_embedder.embed(b) for b in batches]
    shared = SerializedEmbedder(minilm_embedder)
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(shared.embed, batches * 3))
    for got, want in zip(parallel, serial * 3):
        np.testing.assert_allclose(got, want, atol=1e-5)
    long = [t for b in batches for t in b]  # more than one slice: embedded slice by slice, same vectors
    np.testing.assert_allclose(shared.embed(long), minilm_embedder.embed(long), atol=1e-5)
    assert shared.settings() == minilm_embedder.settings()  # everything else passes through
