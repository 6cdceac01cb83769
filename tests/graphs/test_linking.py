"""Entity linking by name embedding (MiniLM): query phrases that name no entity exactly link to the
nearest entity name above ``graph.link_threshold``; the name vectors are cached per graph generation."""
from __future__ import annotations

from pathlib import Path

import pytest

from graphs.linking import phrases
from tests.conftest import write_files
from tests.graphs.conftest import graph_config


def test_phrases_are_content_word_runs():
    assert phrases("Who founded the Manchester United F.C. club, and when?") == ["Manchester United F.C"]
    assert phrases("Where was Albert Einstein born?", taken=["Albert Einstein"]) == []
    assert phrases("theory of general relativity") == ["general relativity"]


@pytest.fixture
def minilm_graph_kit(tmp_path: Path):
    import ragkit

    config = graph_config("fast")
    config.embedder.name = "minilm"
    config.graph.link_threshold = 0.88
    docs = write_files(tmp_path / "docs", {
        "einstein.md": "# Albert Einstein\n\nAlbert Einstein developed the theory of relativity in Bern.\n",
        "curie.md": "# Marie Skłodowska Curie\n\nMarie Skłodowska Curie discovered Polonium in Paris.\n",
        "other.md": "# Physics notes\n\nRelativity and radioactivity changed physics in Europe.\n",
    })
    kit = ragkit.open(tmp_path / "store", config)
    kit.index(docs)
    yield kit
    kit.close()


def test_embedding_link_above_threshold_only(minilm_graph_kit):
    kit = minilm_graph_kit
    auto = kit.retrieval.retriever("auto")
    auto.candidates(["What did Einstein develop in Bern?", "Where did Pierre Curie work?"], depth=5)
    first, second = auto.last_plans
    assert ("albert einstein", "Einstein", "embedding") in first.entities  # cosine 0.91 with MiniLM
    assert not any(e == "marie skłodowska curie" for e, _, _ in second.entities)  # "Pierre Curie": 0.38
    hits = kit.search("Which theory did Einstein develop?", mode="graph", k=2)
    assert hits and hits[0].chunk.doc_id.endswith("einstein.md")
    assert hits[0].paths == ["graph:PPR from 'Albert Einstein'"]


def test_name_vectors_cached_per_generation(minilm_graph_kit, tmp_path: Path):
    kit = minilm_graph_kit
    ids, vectors = kit.graph.name_vectors()
    assert "albert einstein" in ids and vectors.shape == (len(ids), 384)
    cached = sorted(p.name for p in (kit.store.path / "graph").glob("names-*.npz"))
    assert len(cached) == 1
    kit.graph._names = None  # a fresh process reads the file instead of embedding again
    again_ids, again = kit.graph.name_vectors()
    assert again_ids == ids and (again == vectors).all()
    (tmp_path / "docs" / "extra.md").write_text("# Niels Bohr\n\nNiels Bohr worked in Copenhagen.\n", encoding="utf-8")
    kit.index(tmp_path / "docs")
    ids2, _ = kit.graph.name_vectors()
    assert "niels bohr" in ids2
    kit.graph.index  # noqa: B018 - loading the new generation's graph drops the old caches
    assert [p.name for p in (kit.store.path / "graph").glob("names-*.npz")] != cached


def test_threshold_zero_turns_it_off(minilm_graph_kit):
    assert minilm_graph_kit.graph.linker() is not None
    minilm_graph_kit.config.graph.link_threshold = 0.0
    assert minilm_graph_kit.graph.linker() is None
