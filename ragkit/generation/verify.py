"""Check answer sentences against the passages they cite, and attribute uncited sentences to passages.

A sentence is *supported* by its cited passages when

- its numbers and names all occur in them (a changed year or person is never verified), and
- ``WEIGHT * cosine + (1 - WEIGHT) * lexical >= THRESHOLD``, where ``cosine`` is the embedding similarity
  of the sentence to the best window (one sentence, or two adjacent) of the cited passages, and ``lexical``
  the share of the sentence's content words found in them.

``THRESHOLD`` and ``WEIGHT`` were calibrated with ``bench/calibrate_verify.py`` on half of HotpotQA raw 200
(claims built from question and answer, supported by the gold paragraphs, unsupported by distractor
paragraphs or by one gold and one distractor paragraph, contradicted by a swapped answer); see that script
and docs/generation.md for the precision and recall on the held-out half.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ragkit.generation.sentences import STOPWORDS, content_terms, split_sentences, stem, tokens

# Calibrated by bench/calibrate_verify.py (see the module docstring).
WEIGHT = 0.7
THRESHOLD = 0.61
ATTRIBUTE_MARGIN = 0.05  # a second passage is cited when it raises the combined support this much

_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?:st|nd|rd|th)?(?![\w])|\d+")
_NUMBER_WORDS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "first": "1",
    "second": "2",
    "third": "3",
    "fourth": "4",
    "fifth": "5",
    "sixth": "6",
    "seventh": "7",
    "eighth": "8",
    "ninth": "9",
    "tenth": "10",
    "twice": "2",
    "once": "1",
    "dozen": "12",
    "hundred": "100",
    "thousand": "1000",
}
_CAPITALIZED = re.compile(r"\b[A-Z][\w'’]*", re.UNICODE)
_STARTERS = STOPWORDS | {
    "however",
    "initially",
    "additionally",
    "according",
    "overall",
    "today",
    "currently",
    "later",
    "finally",
    "also",
    "both",
    "based",
    "born",
    "yes",
    "no",
    "answer",
    "thus",
    "therefore",
    "because",
    "furthermore",
    "moreover",
    "although",
    "originally",
    "previously",
    "since",
    "then",
    "there",
    "here",
    "unlike",
    "like",
    "while",
    "after",
    "before",
    "during",
    "in",
    "on",
    "at",
    "as",
    "for",
    "from",
    "by",
}


class EmbedCache:
    """Memoizes the embeddings of short texts (sentences) for one embedder."""

    def __init__(self, embedder: Any, max_items: int = 50_000):
        self.embedder = embedder
        self.max_items = max_items
        self._vectors: dict[str, np.ndarray] = {}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            if len(self._vectors) + len(missing) > self.max_items:
                self._vectors.clear()
            vectors = np.asarray(self.embedder.embed(missing), dtype=np.float32)
            self._vectors.update(zip(missing, vectors))
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])


def numbers(text: str) -> set[str]:
    """Numbers in ``text``, normalized (``1,200`` → ``1200``, ``5th`` → ``5``, ``five`` → ``5``)."""
    found = {re.sub(r"(st|nd|rd|th)$", "", m.group(0)).replace(",", "").rstrip(".") for m in _NUMBER.finditer(text)}
    found |= {_NUMBER_WORDS[t] for t in tokens(text) if t in _NUMBER_WORDS}
    return {n for n in found if n}


def names(text: str) -> set[str]:
    """Capitalized words that look like names (sentence starters and function words left out)."""
    out: set[str] = set()
    for match in _CAPITALIZED.finditer(text):
        word = _norm_name(match.group(0))
        if word and word not in _STARTERS and not word.isdigit():
            out.add(word)
    return out


def _norm_name(word: str) -> str:
    word = word.lower()
    return re.sub(r"['’]s?$", "", word)


@dataclass
class Passage:
    """A cited passage: its number, its visible text and a label (source, heading) also shown to the model."""

    n: int
    text: str
    label: str = ""

    def __post_init__(self) -> None:
        self.spans = split_sentences(self.text) or ([(0, len(self.text))] if self.text.strip() else [])
        evidence = f"{self.label}\n{self.text}"
        self.terms = set(content_terms(evidence))
        words = set(tokens(evidence)) | set(re.findall(r"\w+", evidence.lower()))
        self.words = {_norm_name(t) for t in words} | {stem(_norm_name(t)) for t in words}
        self.numbers = numbers(evidence)


@dataclass
class Support:
    """How well a set of passages supports one sentence."""

    score: float = 0.0
    cosine: float = 0.0
    lexical: float = 0.0
    consistent: bool = True
    missing: list[str] = field(default_factory=list)
    quotes: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    verified: bool = False


class Verifier:
    """Scores sentences against passages with an embedder (cheap to build; embeddings are cached)."""

    def __init__(self, embedder: Any, threshold: float = THRESHOLD, weight: float = WEIGHT):
        self.embed = embedder if isinstance(embedder, EmbedCache) else EmbedCache(embedder)
        self.threshold = threshold
        self.weight = weight

    # -- pieces -----------------------------------------------------------------------------------
    def _windows(self, passage: Passage) -> tuple[list[tuple[int, int]], np.ndarray]:
        """Windows (one sentence, or two adjacent) of a passage and their unit vectors."""
        texts = [" ".join(passage.text[s:e].split()) for s, e in passage.spans]
        if not texts:
            return [], np.zeros((0, 1), dtype=np.float32)
        single = self.embed(texts)
        windows = list(passage.spans)
        vectors = [single]
        if len(texts) > 1:
            pairs = single[:-1] + single[1:]
            pairs /= np.maximum(np.linalg.norm(pairs, axis=1, keepdims=True), 1e-9)
            windows += [(passage.spans[i][0], passage.spans[i + 1][1]) for i in range(len(texts) - 1)]
            vectors.append(pairs)
        return windows, np.vstack(vectors)

    def _best_window(
        self, vector: np.ndarray, passage: Passage, stated: set[str] = frozenset()  # type: ignore[assignment]
    ) -> tuple[float, tuple[int, int] | None]:
        """(the best similarity, the quote): the closest window, except that when the sentence states
        numbers the passage has, only windows containing them all can be its quote (a quote must show
        the figure it supports). The similarity scored is the best of all windows, as before."""
        windows, matrix = self._windows(passage)
        if not windows:
            return 0.0, None
        sims = matrix @ vector
        n_single = len(passage.spans)
        allowed = np.ones(len(windows), dtype=bool)
        wanted = stated & passage.numbers
        if wanted:
            covers = np.array([wanted <= numbers(passage.text[s:e]) for s, e in windows])
            if covers.any():
                allowed = covers
        masked = np.where(allowed, sims, -np.inf)
        best = int(np.argmax(masked))
        if best >= n_single and allowed[:n_single].any():  # prefer a single sentence nearly as close
            single_best = int(np.argmax(masked[:n_single]))
            if masked[best] - masked[single_best] < 0.03:
                best = single_best
        return float(sims.max()), windows[best]

    @staticmethod
    def _consistency(sentence: str, passages: Sequence[Passage]) -> list[str]:
        missing: list[str] = []
        have_numbers = set().union(*(p.numbers for p in passages)) if passages else set()
        have_words = set().union(*(p.words for p in passages)) if passages else set()
        for number in sorted(numbers(sentence)):
            if number not in have_numbers:
                missing.append(number)
        for name in sorted(names(sentence)):
            if name not in have_words and stem(name) not in have_words:
                missing.append(name)
        return missing

    @staticmethod
    def _lexical(sentence: str, passages: Sequence[Passage]) -> float:
        terms = set(content_terms(sentence))
        if not terms:
            return 1.0
        have = set().union(*(p.terms for p in passages)) if passages else set()
        return len(terms & have) / len(terms)

    # -- public -------------------------------------------------------------------------------------
    def prefetch(self, passages: Sequence[Passage], sentences: Sequence[str] = ()) -> None:
        """Embed all passage sentences (and answer sentences) in one batch: far faster than one by one."""
        texts = [" ".join(p.text[s:e].split()) for p in passages for s, e in p.spans]
        texts += [" ".join(t.split()) for t in sentences]
        if texts:
            self.embed(texts)

    def support(self, sentence: str, passages: Sequence[Passage]) -> Support:
        """Score ``sentence`` against the union of ``passages`` and decide whether it is verified."""
        if not passages:
            return Support(consistent=False, missing=[], verified=False)
        vector = self.embed([" ".join(sentence.split())])[0]
        cosine = 0.0
        quotes: dict[int, list[tuple[int, int]]] = {}
        stated = numbers(sentence)
        for passage in passages:
            sim, window = self._best_window(vector, passage, stated)
            cosine = max(cosine, sim)
            if window is not None:
                quotes[passage.n] = [window]
        lexical = self._lexical(sentence, passages)
        missing = self._consistency(sentence, passages)
        score = self.weight * cosine + (1 - self.weight) * lexical
        consistent = not missing
        return Support(
            score=score,
            cosine=cosine,
            lexical=lexical,
            consistent=consistent,
            missing=missing,
            quotes=quotes,
            verified=consistent and score >= self.threshold,
        )

    def attribute(self, sentence: str, passages: Sequence[Passage], max_citations: int = 2) -> list[int]:
        """The passages that best support an uncited sentence: the best one, plus others while each raises
        the combined support by ``ATTRIBUTE_MARGIN`` or supplies a missing name or number. Nothing when even
        the combination scores more than 0.1 below the threshold (the sentence stays uncited)."""
        if not passages:
            return []
        scored = sorted(((self.support(sentence, [p]), p) for p in passages), key=lambda sp: (-sp[0].score, sp[1].n))
        best_support, best = scored[0]
        chosen = [best]
        current = best_support
        for _support, passage in scored[1:]:
            if len(chosen) >= max_citations or current.verified:
                break
            combined = self.support(sentence, chosen + [passage])
            if combined.score >= current.score + ATTRIBUTE_MARGIN or (
                len(combined.missing) < len(current.missing) and combined.score >= current.score
            ):
                chosen.append(passage)
                current = combined
        if current.score < self.threshold - 0.1 and not current.verified:
            return []
        return sorted(p.n for p in chosen)
