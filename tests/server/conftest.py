"""A small hash-embedder store served by a real uvicorn on 127.0.0.1."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import hash_config, write_files
from tests.server.live import LiveServer

DOCS = {
    "api.md": "# API\n\nThe REST API listens on port 7443. Each token may make 600 requests per minute.\n",
    "faq.txt": "Notes are encrypted at rest with AES-256. Backups run every night at 02:00.\n",
    "install.md": "# Install\n\nUpgrade from version 2 by running the migrate command first.\n",
}


def make_kit(tmp_path: Path, **server: Any):
    """A hash-embedder Kit over DOCS (indexed), with ``server.*`` settings; allowed root = the docs."""
    import ragkit

    docs = write_files(tmp_path / "docs", DOCS)
    config = hash_config()
    config.server.allowed_root = str(docs)
    for key, value in server.items():
        setattr(config.server, key, value)
    kit = ragkit.open(tmp_path / "store", config)
    kit.index([docs])
    return kit


def serve(kit):
    from ragkit.server.app import create_app

    return LiveServer(create_app(kit))


def wait_job(client: httpx.Client, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll ``/jobs/{id}`` until it is done or failed (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise TimeoutError(f"job {job_id} still running after {timeout} s")


@pytest.fixture
def live(tmp_path: Path):
    kit = make_kit(tmp_path)
    with serve(kit) as server, server.client() as client:
        yield server, client
