"""Entity linking by embedding: query phrases that name no entity exactly are matched to the entity
whose name embedding is nearest, when the cosine reaches a measured threshold (``graph.link_threshold``).

The entity-name vectors are computed once per graph generation (lazily, on the first query that needs
them) by the caller's embedder and cached beside the graph (``ragkit/graph.py``).

Query phrases are the maximal runs of content words between stopwords and punctuation: a noun-phrase
approximation that needs no parser (a spaCy parse would cost ~10 ms per query; the runs are free).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
import numpy as np

from graphs.traverse import STOP, GraphIndex

_TOKEN = re.compile(r"[\w][\w'\-.&]*|[^\w\s]")
LINKABLE_LABELS_SKIP = {"COLUMN"}  # table headers name columns, not things a query asks about


def phrases(text: str, taken: Sequence[str] = (), max_words: int = 6) -> list[str]:
    """Candidate noun phrases of ``text``: runs of content words (no stopword, no punctuation, no
    change between capitalized and lower-case words inside),
    at most ``max_words`` long, skipping words already covered by the ``taken`` (exactly linked) surfaces."""
    covered = {w.lower() for t in taken for w in t.split()}
    out: list[str] = []
    run: list[str] = []
    for tok in _TOKEN.findall(text) + ["."]:
        word = tok.strip(".'")
        if not word or not word[0].isalnum() or word.lower() in STOP or word.lower() in covered:
            if run:
                out.append(" ".join(run[:max_words]))
            run = []
            continue
        if run and word[0].isupper() != run[-1][0].isupper():  # a name ends where capitals end ("Marie Curie" | "won")
            out.append(" ".join(run[:max_words]))
            run = []
        run.append(word)
    # a single lower-case word is a common word, not a name (the exact linker skips those too)
    return [p for p in dict.fromkeys(out) if len(p) >= 3 and not p.isdigit() and not (" " not in p and p.islower())]


def entity_vectors(graph: GraphIndex, embed: Callable[[list[str]], np.ndarray], max_df: float = 0.05) -> tuple[list[str], np.ndarray]:
    """(entity ids, unit name vectors) of the entities a query may link to: not too generic (the
    exact linker's document-frequency limit) and not table columns."""
    limit = max(50, int(max_df * max(len(graph.chunk_ids), 1)))
    ids = [e for e in graph.entity_ids if graph.df[graph.entity_col[e]] <= limit
           and graph.labels.get(e) not in LINKABLE_LABELS_SKIP]
    if not ids:
        return [], np.zeros((0, 1), dtype=np.float32)
    vectors = np.asarray(embed([graph.names[e] for e in ids]), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return ids, vectors


def embedding_links(text: str, taken: Sequence[str], ids: Sequence[str], vectors: np.ndarray,
                    embed: Callable[[list[str]], np.ndarray], threshold: float) -> list[tuple[str, str, str, float]]:
    """(entity id, phrase, "embedding", cosine) for each phrase of ``text`` whose nearest entity name
    reaches ``threshold``; one entity per phrase, each entity once."""
    cands = phrases(text, taken)
    if not cands or not len(ids):
        return []
    q = np.asarray(embed(cands), dtype=np.float32)
    q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    sims = q @ vectors.T
    out: list[tuple[str, str, str, float]] = []
    seen: set[str] = set()
    for i, phrase in enumerate(cands):
        j = int(np.argmax(sims[i]))
        if sims[i, j] >= threshold and ids[j] not in seen:
            seen.add(ids[j])
            out.append((ids[j], phrase, "embedding", float(sims[i, j])))
    return out
