"""Offline means offline: index + search (+ every packaged model) under strace finds no network connect.

The traced process stays alive 30 s after its last model load, because onnxruntime's telemetry fires
late. Every connect() must target a local unix socket. The test fails, never skips, without strace.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import ragkit
    docs, store = Path(sys.argv[1]), Path(sys.argv[2])
    kit = ragkit.open(store)
    report = kit.index([docs])
    assert report.added == 2, report
    hits = kit.search("which port does the service use", k=3)
    assert hits, "no hits"
    for mode in ("lexical", "dense", "hybrid"):
        kit.search("certificate rotation", k=3, mode=mode)
    loaded = ["embedder"]
    # every other packaged model ragkit can load offline
    import importlib.util
    if importlib.util.find_spec("ragkit.generation"):
        answer = kit.ask("Which port does the service use?")
        loaded.append("generator:" + answer.generator)
        if importlib.util.find_spec("llama_cpp") or importlib.util.find_spec("gguf"):
            answer = kit.ask("Which port does the service use?", generator="local")
            loaded.append("generator:" + answer.generator)
    if importlib.util.find_spec("ragkit.retrieval.rerank"):
        from ragkit.config import RerankerConfig
        from ragkit.retrieval.rerank import make_reranker
        reranker = make_reranker(RerankerConfig(name="nanoranker"))
        reranker.run("which port", hits)
        loaded.append("reranker")
    if importlib.util.find_spec("connectors.ocr"):
        from connectors.ocr import get_engine
        engine = get_engine()
        if engine is not None:
            from PIL import Image, ImageDraw
            img = Image.new("RGB", (300, 60), "white")
            ImageDraw.Draw(img).text((10, 20), "Port 7443", fill="black")
            png = store / "ocr.png"
            img.save(png)
            engine.recognize(png)
            loaded.append("ocr")
    print("LOADED", ",".join(loaded), flush=True)
    time.sleep(31)
    print("DONE", flush=True)
    """
)


def test_index_and_search_make_no_network_connections(tmp_path: Path):
    strace = shutil.which("strace")
    assert strace, "strace is required for the offline test (apt-get install strace)"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("The service listens on port 7443. Certificates rotate every 180 days.")
    (docs / "b.md").write_text("# Setup\n\nInstall the package, then start the service.")
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    trace = tmp_path / "trace.txt"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    for key in ("HF_HUB_OFFLINE", "ORT_DISABLE_TELEMETRY", "TRANSFORMERS_OFFLINE"):
        env.pop(key, None)  # ragkit must set what it needs itself
    proc = subprocess.run(
        [strace, "-f", "-qq", "-e", "trace=connect", "-o", str(trace), sys.executable, str(script), str(docs),
         str(tmp_path / "store")],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "DONE" in proc.stdout
    assert "generator:local" in proc.stdout and "reranker" in proc.stdout and "ocr" in proc.stdout, proc.stdout
    lines = [ln for ln in trace.read_text().splitlines() if "connect(" in ln]
    bad = [ln for ln in lines if not re.search(r"sa_family=AF_UNIX", ln)]
    assert not bad, "network connection attempts:\n" + "\n".join(bad[:20])


def test_importing_ragkit_changes_no_environment_and_opening_a_store_goes_offline(tmp_path: Path):
    """``import ragkit.types`` (as connectors/ and graphs/ do) sets nothing; ``ragkit.open`` sets the
    offline and no-telemetry switches before any model library loads."""
    from ragkit.offline import OFFLINE_ENV

    script = textwrap.dedent(
        """
        import os, sys
        import ragkit.types, connectors.text, graphs.model
        assert not [k for k in KEYS if k in os.environ], [k for k in KEYS if k in os.environ]
        import ragkit
        from ragkit.config import Config, EmbedderConfig
        ragkit.open(sys.argv[1], Config(embedder=EmbedderConfig(name="hash")))
        assert all(os.environ.get(k) == v for k, v in KEYS.items()), {k: os.environ.get(k) for k in KEYS}
        print("OK")
        """
    ).replace("KEYS", repr(OFFLINE_ENV))
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_ENV}
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "s")], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "OK", out.stderr
