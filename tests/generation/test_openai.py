"""The ``openai`` backend against a real HTTP server on 127.0.0.1 (tests/generation/fake_openai_server.py)."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest


from tests.generation.fake_openai_server import MODEL, FakeOpenAIServer  # noqa: E402

from ragkit.config import GeneratorConfig  # noqa: E402
from ragkit.generation import GeneratorError, make_generator  # noqa: E402
from ragkit.generation.openai import OpenAIGenerator  # noqa: E402

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi."}]


def make(server: FakeOpenAIServer, **overrides) -> OpenAIGenerator:
    config = GeneratorConfig(
        name="openai", base_url=server.base_url, api_key_env="RAGKIT_TEST_KEY", timeout=5.0, max_retries=2
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return OpenAIGenerator(config, backoff=0.01)


@pytest.fixture
def server():
    with FakeOpenAIServer() as srv:
        yield srv


def test_generate_sends_model_messages_and_key(server, monkeypatch):
    monkeypatch.setenv("RAGKIT_TEST_KEY", "sk-test")
    gen = make(server, max_tokens=32, temperature=0.0)
    assert gen.generate(MESSAGES, max_tokens=32) == "This is a canned answer."
    chat = server.chat_requests()[0]
    assert chat["body"]["model"] == MODEL  # discovered from /v1/models since config.model is empty
    assert chat["body"]["messages"] == MESSAGES
    assert chat["body"]["max_tokens"] == 32 and chat["body"]["stream"] is False
    assert chat["headers"]["Authorization"] == "Bearer sk-test"


def test_configured_model_skips_discovery(server):
    gen = make(server, model="my-model")
    gen.generate(MESSAGES)
    assert [r["path"] for r in server.requests] == ["/v1/chat/completions"]
    assert server.requests[0]["body"]["model"] == "my-model"


def test_factory_builds_openai():
    gen = make_generator(GeneratorConfig(name="openai"))
    assert isinstance(gen, OpenAIGenerator) and gen.name == "openai"


def test_stream_yields_pieces_in_order(server):
    server.script.append(("stream", ["Hel", "lo ", "world", "."]))
    gen = make(server, model="m")
    assert list(gen.stream(MESSAGES)) == ["Hel", "lo ", "world", "."]
    assert server.chat_requests()[0]["body"]["stream"] is True


def test_retries_5xx_then_succeeds(server):
    server.script += [("status", 503, "overloaded"), ("status", 500, "oops"), ("ok", "Finally.")]
    gen = make(server, model="m")
    assert gen.generate(MESSAGES) == "Finally."
    assert len(server.chat_requests()) == 3


def test_stream_retries_5xx_before_first_piece(server):
    server.script += [("status", 502, "bad gateway"), ("stream", ["A", "B"])]
    gen = make(server, model="m")
    assert "".join(gen.stream(MESSAGES)) == "AB"
    assert len(server.chat_requests()) == 2


def test_gives_up_after_max_retries_with_clear_error(server):
    server.script += [("status", 503, "overloaded")] * 5
    gen = make(server, model="m", max_retries=2)
    with pytest.raises(GeneratorError, match=r"after 3 attempt\(s\).*HTTP 503: overloaded"):
        gen.generate(MESSAGES)
    assert len(server.chat_requests()) == 3


def test_client_error_is_not_retried(server):
    server.script += [("status", 400, "context length exceeded"), ("ok", "never")]
    gen = make(server, model="m")
    with pytest.raises(GeneratorError, match="HTTP 400: context length exceeded"):
        gen.generate(MESSAGES)
    assert len(server.chat_requests()) == 1


def test_timeout_is_retried_then_reported(server):
    server.script += [("slow", 1.5, "late"), ("slow", 1.5, "late")]
    gen = make(server, model="m", timeout=0.2, max_retries=1)
    started = time.monotonic()
    with pytest.raises(GeneratorError, match="timed out after 0.2 s"):
        gen.generate(MESSAGES)
    assert time.monotonic() - started < 1.4
    assert len(server.chat_requests()) == 2


def test_slow_then_fast_recovers(server):
    server.script += [("slow", 1.0, "late"), ("ok", "On time.")]
    gen = make(server, model="m", timeout=0.3, max_retries=1)
    assert gen.generate(MESSAGES) == "On time."


def test_dropped_connection_is_retried(server):
    server.script += [("drop",), ("ok", "Recovered.")]
    gen = make(server, model="m")
    assert gen.generate(MESSAGES) == "Recovered."


@pytest.mark.parametrize(
    "behaviour, message",
    [
        (("malformed", "{this is not json"), "not JSON"),
        (("malformed", '{"choices": [{"text": "legacy"}]}'), r"no choices\[0\].message.content"),
        (("no_choices",), r"no choices\[0\].message.content"),
        (("malformed", '{"choices": [{"message": {"content": 42}}]}'), "content is int"),
    ],
)
def test_malformed_responses_raise_clear_errors(server, behaviour, message):
    server.script.append(behaviour)
    gen = make(server, model="m")
    with pytest.raises(GeneratorError, match=message):
        gen.generate(MESSAGES)


def test_malformed_stream_event_raises(server):
    server.script.append(("stream_garbage",))
    gen = make(server, model="m")
    with pytest.raises(GeneratorError, match="malformed stream event"):
        list(gen.stream(MESSAGES))


def test_connection_refused_names_the_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = GeneratorConfig(name="openai", model="m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=1)
    gen = OpenAIGenerator(config, backoff=0.01)
    with pytest.raises(GeneratorError, match=rf"127.0.0.1:{port}/v1/chat/completions failed after 2 .*cannot connect"):
        gen.generate(MESSAGES)


def test_generate_batch_keeps_order_under_concurrency():
    def echo(body):
        return "echo: " + body["messages"][-1]["content"]

    with FakeOpenAIServer(default_answer=echo) as srv:
        config = GeneratorConfig(name="openai", model="m", base_url=srv.base_url)
        gen = OpenAIGenerator(config, concurrency=4)
        batch = [[{"role": "user", "content": f"q{i}"}] for i in range(9)]
        assert gen.generate_batch(batch) == [f"echo: q{i}" for i in range(9)]


def test_json_schema_is_sent_as_response_format(server):
    gen = make(server, model="m")
    gen.generate(MESSAGES, json_schema={"type": "object"})
    fmt = server.chat_requests()[0]["body"]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"] == {"type": "object"}


def test_base_url_env_override(server, tmp_path):
    """``RAGKIT_GENERATOR_BASE_URL`` overrides the stored setting like any ``RAGKIT_<SECTION>_<KEY>``."""
    from ragkit.config import Config

    stored = Config()
    stored.generator.base_url = "http://127.0.0.1:1/v1"
    stored.generator.model = "m"
    stored.save(tmp_path)
    config = Config.load(tmp_path, env={"RAGKIT_GENERATOR_BASE_URL": server.base_url})
    gen = OpenAIGenerator(config.generator)
    assert gen.generate(MESSAGES) == "This is a canned answer."
