"""A tiny OpenAI-compatible chat-completions server on 127.0.0.1 for tests (stdlib only).

Each POST to ``/v1/chat/completions`` takes the next scripted behaviour from ``server.script`` (else the
default: a canned answer), so a test can serve, in order, e.g. a 503 and then a success:

    with FakeOpenAIServer() as server:
        server.script += [("status", 503, "busy"), ("ok", "Paris is the capital [1].")]
        ...

Behaviours: ``("ok", text)`` (or ``("ok", text, usage)`` with the ``usage`` object to report), ``("stream", [pieces])``, ``("status", code, message)``,
``("slow", seconds, text)``, ``("malformed", raw_body)``, ``("no_choices",)``, ``("drop",)`` (close the
connection without a response), ``("stream_garbage",)`` (a stream with a broken event).
``default_answer`` may be a function of the request body returning a text or a behaviour tuple.
Every request is recorded in ``server.requests`` as ``{"path", "headers", "body"}``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_ANSWER = "This is a canned answer."
MODEL = "fake-model"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, code: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self.server.record(self.path, dict(self.headers), None)
        if self.path.rstrip("/") == "/v1/models":
            self._send(200, json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model"}]}).encode())
        else:
            self._send(404, b'{"error": {"message": "not found"}}')

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send(400, b'{"error": {"message": "bad json"}}')
            return
        self.server.record(self.path, dict(self.headers), body)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, b'{"error": {"message": "not found"}}')
            return
        behaviour = self.server.next_behaviour(body)
        kind = behaviour[0]
        if kind == "status":
            _, code, message = behaviour
            self._send(code, json.dumps({"error": {"message": message}}).encode())
        elif kind == "slow":
            _, seconds, text = behaviour
            time.sleep(seconds)
            self._completion(text, body)
        elif kind == "malformed":
            self._send(200, behaviour[1].encode() if isinstance(behaviour[1], str) else behaviour[1])
        elif kind == "no_choices":
            self._send(200, json.dumps({"id": "x", "object": "chat.completion", "choices": []}).encode())
        elif kind == "drop":
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(2)
        elif kind == "stream" or (kind == "ok" and body.get("stream")):
            pieces = behaviour[1] if kind == "stream" else [behaviour[1]]
            self._stream(pieces)
        elif kind == "stream_garbage":
            self._stream_raw([b'data: {"choices": [{"delta": {"content": "Hel"}}]}\n\n', b"data: {not json\n\n"])
        else:
            self._completion(behaviour[1], body, behaviour[2] if len(behaviour) > 2 else None)

    def _completion(self, text: str, body: dict[str, Any], usage: dict[str, int] | None = None) -> None:
        if body.get("stream"):
            self._stream([text])
            return
        data = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": body.get("model", MODEL),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": usage or {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        self._send(200, json.dumps(data).encode())

    def _stream(self, pieces: list[str]) -> None:
        events = [
            b"data: " + json.dumps({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}).encode() + b"\n\n"
        ]
        for piece in pieces:
            chunk = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {"content": piece}}],
            }
            events.append(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        events.append(b": keep-alive comment\n\n")
        events.append(b"data: [DONE]\n\n")
        self._stream_raw(events)

    def _stream_raw(self, events: list[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in events:
            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: FakeOpenAIServer):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.owner = owner

    def record(self, path: str, headers: dict[str, str], body: Any) -> None:
        with self.owner.lock:
            self.owner.requests.append({"path": path, "headers": headers, "body": body})

    def next_behaviour(self, body: dict[str, Any]) -> tuple:
        with self.owner.lock:
            if self.owner.script:
                return self.owner.script.pop(0)
        answer = self.owner.default_answer
        answer = answer(body) if callable(answer) else answer
        return answer if isinstance(answer, tuple) else ("ok", answer)


class FakeOpenAIServer:
    """Context manager running the fake server in a thread; ``base_url`` ends in ``/v1``."""

    def __init__(self, default_answer: str | Callable[[dict[str, Any]], str] = DEFAULT_ANSWER):
        self.default_answer = default_answer
        self.script: list[tuple] = []
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def __enter__(self) -> FakeOpenAIServer:
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
