"""Rerankers (opt-in): a sentence-transformers CrossEncoder from a local folder, or ``nanoranker``
(ONNX weights inside the package; a small network over sentence-encoder features, not a cross-encoder).

Both load their model on first use and cache passage features by chunk id where they can.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ragkit.config import RerankerConfig
from ragkit.offline import enforce_offline
from ragkit.types import Hit

RERANKERS = ("none", "nanoranker", "cross-encoder")


def _reorder(hits: list[Hit], scores: Sequence[float] | np.ndarray, k: int | None, name: str) -> list[Hit]:
    order = sorted(range(len(hits)), key=lambda i: -float(scores[i]))
    out = []
    for i in order[: k if k is not None else len(hits)]:
        hit = hits[i]
        out.append(replace(hit, score=float(scores[i]), scores={**hit.scores, "retrieval": hit.score, name: float(scores[i])}))
    return out


class CrossEncoderReranker:
    """Scores (query, passage) pairs with a sentence-transformers CrossEncoder from a local folder."""

    name = "cross-encoder"

    def __init__(self, model_path: str, batch_size: int = 32, max_length: int | None = 512):
        if not model_path:
            raise ValueError("reranker 'cross-encoder' needs reranker.model_path (a local model folder)")
        self.model_path = model_path
        self.batch_size = batch_size
        self.max_length = max_length
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            enforce_offline()
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(self.model_path, device="cpu", max_length=self.max_length, local_files_only=True)
        return self._model

    def scores(self, query: str, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        pairs = [(query, t) for t in texts]
        out = self.model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False, convert_to_numpy=True)
        out = np.asarray(out, dtype=np.float64)
        return out if out.ndim == 1 else out[:, -1]

    def run(self, query: str, hits: list[Hit], k: int | None = None) -> list[Hit]:
        return _reorder(hits, self.scores(query, [h.chunk.text for h in hits]), k, self.name)


class NanoReranker:
    """``nanoranker``'s ONNX model; passage features are cached by chunk id (the costly part)."""

    name = "nanoranker"

    def __init__(self, cache_size: int = 20_000):
        self.cache_size = cache_size
        self._module: Any = None
        self._features: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def module(self) -> Any:
        if self._module is None:
            enforce_offline()  # nanoranker creates onnxruntime sessions at import
            try:
                import nanoranker
            except ImportError as exc:
                raise ImportError("reranker 'nanoranker' needs the package: pip install nanoranker") from exc
            self._module = nanoranker
        return self._module

    def _feature(self, key: str, text: str) -> np.ndarray:
        vector = self._features.get(key)
        if vector is None:
            vector = np.asarray(self.module.embed(text), dtype=np.float32)
            self._features[key] = vector
            if len(self._features) > self.cache_size:
                self._features.popitem(last=False)
        else:
            self._features.move_to_end(key)
        return vector

    def scores(self, query: str, texts: Sequence[str], keys: Sequence[str] | None = None) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        keys = keys or [f"text:{t}" for t in texts]
        q = np.asarray(self.module.embed(query), dtype=np.float32)
        passages = np.stack([self._feature(key, t) for key, t in zip(keys, texts)])
        features = np.concatenate([np.tile(q, (len(passages), 1)), passages], axis=1).astype(np.float32)
        out = self.module.reranker_model.run(["output"], {"input": features})[0]
        return np.asarray(out, dtype=np.float64).reshape(-1)

    def run(self, query: str, hits: list[Hit], k: int | None = None) -> list[Hit]:
        texts = [h.chunk.text for h in hits]
        keys = [f"{h.chunk.chunk_id}" for h in hits]
        return _reorder(hits, self.scores(query, texts, keys), k, self.name)


def make_reranker(config: RerankerConfig) -> CrossEncoderReranker | NanoReranker | None:
    """The reranker named in ``config`` (cheap: models load on first use); None for ``none``."""
    if config.name == "none":
        return None
    if config.name == "nanoranker":
        return NanoReranker()
    if config.name == "cross-encoder":
        return CrossEncoderReranker(config.model_path)
    raise ValueError(f"unknown reranker {config.name!r}; valid: {', '.join(RERANKERS)}")
