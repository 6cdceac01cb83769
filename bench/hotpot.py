"""Shared helpers for the answer benchmarks: HotpotQA raw records, metrics, a disk embedding cache.

Used by bench/answers.py and bench/calibrate_verify.py (run them as scripts from the repo root).
"""

from __future__ import annotations

import collections
import hashlib
import os
import re
import string
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench import harness

REPO = harness.ROOT
DEFAULT_DATA = harness.data_path("hotpotqa_dev_subset", "hotpotqa_dev_distractor_raw200.jsonl")


def load(path: Path = DEFAULT_DATA) -> list[dict[str, Any]]:
    return harness.read_jsonl(path)


def halves(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Calibration half (first 100 in file order) and held-out half (the rest)."""
    mid = len(records) // 2
    return records[:mid], records[mid:]


def paragraph_text(title: str, sentences: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """``title`` + newline + the sentences, and each original sentence's span in that text."""
    text = title + "\n"
    spans = []
    for sentence in sentences:
        start = len(text)
        text += sentence
        spans.append((start, len(text)))
    return text, spans


# -- official HotpotQA answer metrics --------------------------------------------------------------------
def normalize_answer(s: str) -> str:
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction), normalize_answer(gold)
    if pred in ("yes", "no", "noanswer") or ref in ("yes", "no", "noanswer"):
        if pred != ref:
            return 0.0
    p_tokens, g_tokens = pred.split(), ref.split()
    common = collections.Counter(p_tokens) & collections.Counter(g_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p_tokens), same / len(g_tokens)
    return 2 * precision * recall / (precision + recall)


class DiskEmbedder:
    """Wraps an embedder; remembers vectors on disk (``~/.cache/ragkit/bench``) across runs."""

    def __init__(self, embedder: Any, name: str = "minilm"):
        self.embedder = embedder
        root = Path(os.environ.get("RAGKIT_CACHE_DIR", Path.home() / ".cache" / "ragkit")) / "bench"
        root.mkdir(parents=True, exist_ok=True)
        self.path = root / f"embeddings-{name}.npz"
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        if self.path.exists():
            data = np.load(self.path)
            self._vectors = dict(zip(data["keys"].tolist(), data["vectors"]))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.embedder, name)

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        missing = [(k, t) for k, t in dict(zip(keys, texts)).items() if k not in self._vectors]
        if missing:
            vectors = self.embedder.embed([t for _, t in missing])
            self._vectors.update(zip([k for k, _ in missing], np.asarray(vectors, dtype=np.float32)))
            self._dirty = True
        if not keys:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys])

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def save(self) -> None:
        if not self._dirty:
            return
        if self.path.exists():  # merge what other runs saved meanwhile
            data = np.load(self.path)
            for key, vector in zip(data["keys"].tolist(), data["vectors"]):
                self._vectors.setdefault(key, vector)
        keys = list(self._vectors)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys), vectors=np.stack([self._vectors[k] for k in keys]))
        tmp.replace(self.path)
        self._dirty = False
