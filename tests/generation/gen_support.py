"""Shared helpers for the generation tests: real Chunks/Hits and a duck-typed Kit stand-in."""

from __future__ import annotations

from typing import Any

import numpy as np

from ragkit.access import Scope
from ragkit.config import Config
from ragkit.generation.pipeline import Answerer, Generators
from ragkit.types import Chunk, Hit

EIFFEL = (
    "The Eiffel Tower is a wrought-iron lattice tower in Paris, France. "
    "It was designed by the engineering company of Gustave Eiffel. "
    "Construction was completed in 1889 for the World's Fair. "
    "The tower is 330 metres tall."
)
FUJI = (
    "Mount Fuji is the highest mountain in Japan. "
    "It is an active stratovolcano on Honshu. "
    "Its summit is 3,776 metres above sea level."
)
NILE = "The Nile is a major river in northeastern Africa. It flows north into the Mediterranean Sea."


def chunk(
    chunk_id: str,
    text: str,
    source: str,
    *,
    offset: int = 0,
    page: int | None = None,
    heading: list[str] | None = None,
    kind: str = "text",
) -> Chunk:
    return Chunk(
        chunk_id=chunk_id,
        doc_id=f"doc-{chunk_id}",
        source=source,
        text=text,
        ordinal=0,
        span=(offset, offset + len(text)),
        kind=kind,
        page=page,
        heading_path=list(heading or []),
    )


def eiffel_hits() -> list[Hit]:
    return [
        Hit(chunk("c-eiffel", EIFFEL, "landmarks/eiffel.md", offset=100, page=2, heading=["Landmarks", "Paris"]), 0.9),
        Hit(chunk("c-fuji", FUJI, "landmarks/fuji.txt"), 0.5),
        Hit(chunk("c-nile", NILE, "rivers/nile.txt"), 0.2),
    ]


class DuckKit:
    """A store stand-in for the answerer: config, embedder and a search (embedding similarity over fixed
    hits) that records each query; ``answers`` is the real Answerer wired to that search."""

    def __init__(self, hits: list[Hit], embedder: Any, config: Config | None = None):
        self.hits = hits
        self.embedder = embedder
        self.config = config or Config()
        self.queries: list[dict[str, Any]] = []
        self.answers = Answerer(self.search, self.search, Generators(self.config.generator, embedder))

    def search(self, query: str, k: int | None = None, scope: Scope | None = None) -> list[Hit]:
        k = k or self.config.retrieval.k
        self.queries.append({"query": query, "k": k, "where": scope.where if scope else None})
        q = self.embedder.embed_query(query)
        vectors = self.embedder.embed([h.chunk.text for h in self.hits])
        order = np.argsort(-(vectors @ q), kind="stable")
        return [Hit(self.hits[i].chunk, float((vectors @ q)[i])) for i in order[:k]]
