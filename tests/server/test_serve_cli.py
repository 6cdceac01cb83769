"""``ragkit serve`` as a process: starts in under 3 s (models load on the first query), stops cleanly."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import REPO
from tests.server.conftest import make_kit
from tests.server.live import free_port, wait_http

START_LIMIT_S = 3.0


def test_serve_starts_fast_and_warms_on_first_query(tmp_path: Path):
    make_kit(tmp_path).close()
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragkit.cli.main", "serve", "--store", str(tmp_path / "store"),
         "--host", "127.0.0.1", "--port", str(port), "--quiet"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", timeout=30, proc=proc)
        took = time.monotonic() - started
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/health").json()["warm"] is False
        assert httpx.get(f"{url}/search", params={"q": "port 7443"}, timeout=60).json()
        assert httpx.get(f"{url}/health").json()["warm"] is True
        assert took < START_LIMIT_S, f"ragkit serve took {took:.2f} s to answer /health"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
