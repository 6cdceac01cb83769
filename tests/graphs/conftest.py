"""Graph fixtures: stores with the hashing embedder and the fast (model-free) recognizer."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import hash_config


def graph_config(extractor: str = "fast"):
    config = hash_config()
    config.graph.extractor = extractor
    return config


@pytest.fixture
def graph_kit(tmp_path: Path):
    import ragkit

    kit = ragkit.open(tmp_path / "store", graph_config())
    yield kit
    kit.close()


def rows(kit, sql: str, *params) -> list:
    return kit.store.db.execute(sql, params).fetchall()


def entity_keys(kit) -> set[str]:
    return {r[0] for r in rows(kit, "SELECT entity_id FROM graph_entities")}


def relation_edges(kit) -> set[tuple[str, str]]:
    return {(r[0], r[1]) for r in rows(kit, "SELECT src, dst FROM graph_edges WHERE kind='relation'")}
