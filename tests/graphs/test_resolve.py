"""Entity normalization, acronym aliases, and alias merges that are recorded and reversible."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from graphs.resolve import acronym_definitions, canonical_map, normalize
from tests.conftest import write_files


def test_normalize():
    assert normalize("Dr. Marie Curie") == normalize("Marie Curie") == "marie curie"
    assert normalize("Marie Curie's") == "marie curie"
    assert normalize("U.S.A.") == normalize("USA") == "usa"
    assert normalize("The Beatles") == normalize("Beatles")
    assert normalize("universities") == normalize("University") == "university"
    assert normalize("Prof. Ada Lovelace") == "ada lovelace"
    assert normalize("Glass") == "glass"  # -ss is no plural


def test_acronym_definitions_and_chains():
    assert acronym_definitions("the World Health Organization (WHO) said") == [("World Health Organization", "WHO")]
    assert canonical_map([("a", "b"), ("b", "c"), ("x", "x")]) == {"a": "c", "b": "c", "x": "x"}


def test_acronym_alias_links_to_long_form(graph_kit, tmp_path: Path):
    graph_kit.index(write_files(tmp_path / "docs", {"a.txt": "The World Health Organization (WHO) met in Geneva."}))
    g = graph_kit.graph.index
    assert g.entity("WHO") == "world health organization"
    assert [e for e, _, _ in g.link("What did WHO decide?")] == ["world health organization"]


class NameEmbedder:
    """Names that share their first word get the same vector (an alias), others orthogonal ones."""

    def embed(self, texts):
        out = np.zeros((len(texts), 16), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, hash(t.split()[0].lower()) % 16] = 1.0
        return out


def test_merge_and_unmerge(graph_kit, tmp_path: Path):
    docs = write_files(tmp_path / "docs", {
        "a.txt": "Acme Corporation hired Jane Doe. Acme Corporation builds rockets.",
        "b.txt": "Acme Corp opened a plant in Ohio.",
    })
    graph_kit.index(docs)
    g = graph_kit.graph
    assert g.index.entity("Acme Corp") == "acme corp"
    before = len(g.index.entity_ids)

    graph_kit.graph.embedder = NameEmbedder()
    proposed = g.propose_merges(threshold=0.99)
    assert {"alias": "acme corp", "canonical": "acme corporation", "score": 1.0} in proposed
    g.merge([m for m in proposed if m["alias"] == "acme corp"])
    assert g.merges()[0]["alias"] == "acme corp"
    assert g.index.entity("Acme Corp") == "acme corporation"
    assert len(g.index.entity_ids) == before - 1
    assert set(g.entity_chunks("Acme Corp")) == set(g.entity_chunks("Acme Corporation"))
    assert len(g.entity_chunks("Acme Corporation")) == 2  # both documents now support one entity

    assert g.unmerge(["Acme Corp"]) == 1  # reversible: the entity comes back with its own chunks
    assert g.merges() == []
    assert g.index.entity("Acme Corp") == "acme corp"
    assert len(g.index.entity_ids) == before

    g.merge_names("Jane Doe", "Acme Corporation")  # a manual merge, undone with the rest
    assert g.index.entity("Jane Doe") == "acme corporation"
    assert g.unmerge() == 1
    # merges survive re-indexing (they are decisions, not provenance) and stay reversible
    g.merge_names("Acme Corp", "Acme Corporation")
    (docs / "b.txt").write_text("Acme Corp opened a plant in Texas.")
    graph_kit.index(docs)
    assert graph_kit.graph.index.entity("Acme Corp") == "acme corporation"
