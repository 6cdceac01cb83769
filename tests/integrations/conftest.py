"""A small hash-embedder store the adapters read."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import hash_config, write_files

DOCS = {
    "api.md": "# API\n\nThe REST API listens on port 7443. Each token may make 600 requests per minute.\n",
    "faq.txt": "Notes are encrypted at rest with AES-256. Backups run every night at 02:00.\n",
    "install.md": "# Install\n\nUpgrade from version 2 by running the migrate command first.\n",
    "limits.md": "# Limits\n\nUploads are limited to 50 MB per file and 20 files per request.\n",
}


def build_kit(root: Path):
    import ragkit

    kit = ragkit.open(root / "store", hash_config())
    kit.index([write_files(root / "docs", DOCS)])
    return kit


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory):
    kit = build_kit(tmp_path_factory.mktemp("adapters"))
    yield kit
    kit.close()

