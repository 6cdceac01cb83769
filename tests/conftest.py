"""Shared fixtures: stores with the fast hashing embedder (storage machinery) or the real default."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"  # public benchmark data, beside the repo in CI


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (``CI=true``) a skipped test fails, unless it is marked ``gpu``: every test of
    ``make test`` must run there."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") == "true" and item.get_closest_marker("gpu") is None:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test must run (mark it gpu if it needs one): {reason}"


def hash_config():
    from ragkit.config import Config, EmbedderConfig

    return Config(embedder=EmbedderConfig(name="hash"))


@pytest.fixture
def hash_kit(tmp_path: Path):
    """A Kit on a fresh store using the deterministic hashing embedder (no model load)."""
    import ragkit

    kit = ragkit.open(tmp_path / "store", hash_config())
    yield kit
    kit.close()


@pytest.fixture(scope="session")
def minilm_embedder():
    """The default embedder, loaded once per test session."""
    from ragkit.embedding import MiniLMEmbedder

    return MiniLMEmbedder()


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    """Create ``files`` (relative path -> content) under ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root
