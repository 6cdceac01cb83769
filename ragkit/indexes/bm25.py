"""BM25 over chunk texts with bm25s (English stopwords, Snowball stemming), built in one go: the reference
the segmented index (:mod:`ragkit.indexes.segments`) is checked against, and its tokenizer."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragkit.indexes.ranking import top_k

IDS_FILE = "ids.json"


class Bm25Index:
    """A BM25 index whose rows are chunk ids; saved to and loaded from one directory."""

    def __init__(self, k1: float = 1.2, b: float = 0.75, stopwords: str = "en", stem: bool = True):
        self.k1 = k1
        self.b = b
        self.stopwords = stopwords
        self.stem = stem
        self.ids: list[str] = []
        self._model: Any = None
        self._stemmer: Any = None

    def settings(self) -> dict[str, Any]:
        return {"name": "bm25s", "k1": self.k1, "b": self.b, "stopwords": self.stopwords, "stem": self.stem}

    def _stemmer_fn(self) -> Any:
        if self.stem and self._stemmer is None:
            import Stemmer

            self._stemmer = Stemmer.Stemmer("english")
        return self._stemmer.stemWords if self.stem else None

    def _tokenize(self, texts: Sequence[str]) -> list[list[str]]:
        import bm25s

        tokens: list[list[str]] = bm25s.tokenize(
            list(texts), stopwords=self.stopwords, stemmer=self._stemmer_fn(), return_ids=False, show_progress=False
        )
        return tokens

    def build(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        import bm25s

        self.ids = list(ids)
        self._model = bm25s.BM25(k1=self.k1, b=self.b)
        if self.ids:
            self._model.index(self._tokenize(texts), show_progress=False)

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if self.ids:
            self._model.save(str(directory), show_progress=False)
        (directory / IDS_FILE).write_text(json.dumps({"ids": self.ids, "settings": self.settings()}))

    @classmethod
    def load(cls, directory: Path) -> Bm25Index:
        import bm25s

        directory = Path(directory)
        meta = json.loads((directory / IDS_FILE).read_text())
        settings = {k: v for k, v in meta["settings"].items() if k != "name"}
        index = cls(**settings)
        index.ids = meta["ids"]
        if index.ids:
            index._model = bm25s.BM25.load(str(directory), show_progress=False, verbosity=0)
        return index

    def query(self, text: str, k: int) -> list[tuple[str, float]]:
        return self.query_batch([text], k)[0]

    def query_batch(
        self, texts: Sequence[str], k: int, mask: np.ndarray | None = None
    ) -> list[list[tuple[str, float]]]:
        """Top ``k`` (id, score) per query; ``mask`` (0/1 per row) restricts the rows searched."""
        if not self.ids or not texts:
            return [[] for _ in texts]
        vocab = self._model.vocab_dict
        out: list[list[tuple[str, float]]] = []
        for tokens in self._tokenize(texts):
            tokens = [t for t in tokens if t in vocab]
            if not tokens:
                out.append([])
                continue
            scores = self._model.get_scores(tokens)
            if mask is not None:
                scores = scores * mask
            out.append(top_k(scores, k, lambda rows: [self.ids[i] for i in rows.tolist()]))
        return out

    def coverage(self, query: str) -> float:
        """The share of the query's terms (after stopwords and stemming) that some chunk holds; 1.0 when
        no term is left (nothing BM25 could miss), 0.0 for any term on an empty index."""
        tokens = self._tokenize([query])[0] if query else []
        if not tokens:
            return 1.0
        vocab = self._model.vocab_dict if self.ids else {}
        return sum(1 for t in tokens if t in vocab) / len(tokens)

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """bm25s's float32 scores of ``tokens`` over the rows (``ids`` order)."""
        if not self.ids:
            return np.zeros(0, dtype=np.float32)
        vocab = self._model.vocab_dict
        tokens = [t for t in tokens if t in vocab]
        if not tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        scores: np.ndarray = self._model.get_scores(tokens)
        return scores
