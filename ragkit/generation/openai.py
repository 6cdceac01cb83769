"""The ``openai`` generator: any OpenAI-compatible chat-completions server over httpx.

Works with ``vllm serve``, llama.cpp's server, Ollama and hosted APIs. The base URL comes from config
(``generator.base_url``; ``RAGKIT_GENERATOR_BASE_URL`` overrides it like any setting), the key from the environment variable
named in ``generator.api_key_env``. Connection errors, timeouts, 429 and 5xx are retried with exponential
backoff (``Retry-After`` honoured); other 4xx and malformed responses raise :class:`GeneratorError`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from ragkit.config import GeneratorConfig
from ragkit.generation.errors import GeneratorError

_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class OpenAIGenerator:
    """Chat completions over HTTP; ``stream`` reads server-sent events."""

    name = "openai"
    writes_short = True  # asked for a "Short answer:" line (prompt.SYSTEM_PROMPT); no short is composed for it
    rewrites = True  # chat follow-ups are rewritten into standalone queries by the model

    def __init__(
        self,
        config: GeneratorConfig | None = None,
        *,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        concurrency: int = 4,
        transport: httpx.BaseTransport | None = None,
    ):
        self.config = config or GeneratorConfig(name="openai")
        self.base_url = self.config.base_url.rstrip("/")
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.concurrency = max(1, concurrency)
        self.batch_size = 8 * self.concurrency
        self._transport = transport
        self._client: httpx.Client | None = None
        self._model: str | None = self.config.model or None

    # -- plumbing --------------------------------------------------------------------------------------
    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            headers = {"Content-Type": "application/json"}
            key = os.environ.get(self.config.api_key_env or "", "")
            if key:
                headers["Authorization"] = f"Bearer {key}"
            timeout = httpx.Timeout(self.config.timeout, connect=min(self.config.timeout, 10.0))
            self._client = httpx.Client(
                base_url=self.base_url, headers=headers, timeout=timeout, transport=self._transport
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def model(self) -> str:
        """The configured model, else the first one the server lists at ``/models``."""
        if self._model is None:
            data = self._json(self._request("GET", "/models"), "/models")
            try:
                self._model = str(data["data"][0]["id"])
            except (KeyError, IndexError, TypeError) as exc:
                raise GeneratorError(
                    f"{self.base_url}/models lists no model; set generator.model in the store's config.toml"
                ) from exc
        return self._model

    def _sleep(self, attempt: int, response: httpx.Response | None) -> None:
        delay = min(self.max_backoff, self.backoff * (2**attempt))
        if response is not None:
            try:
                delay = min(self.max_backoff, max(delay, float(response.headers.get("retry-after", ""))))
            except ValueError:
                pass
        time.sleep(delay)

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        last = ""
        for attempt in range(self.config.max_retries + 1):
            response = None
            try:
                response = self.client.request(method, path, json=body)
            except httpx.TimeoutException as exc:
                last = f"timed out after {self.config.timeout:g} s ({type(exc).__name__})"
            except httpx.TransportError as exc:
                last = f"cannot connect ({type(exc).__name__}: {exc})"
            else:
                if response.status_code < 400:
                    return response
                last = f"HTTP {response.status_code}: {_error_text(response)}"
                if response.status_code not in _RETRY_STATUS:
                    raise GeneratorError(f"{method} {self.base_url}{path} failed: {last}")
            if attempt < self.config.max_retries:
                self._sleep(attempt, response)
        raise GeneratorError(
            f"{method} {self.base_url}{path} failed after {self.config.max_retries + 1} attempt(s): {last}"
        )

    def _json(self, response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise GeneratorError(
                f"malformed response from {self.base_url}{what}: not JSON: {response.text[:200]!r}"
            ) from exc

    def _body(self, messages: list[dict[str, str]], max_tokens: int, stream: bool, json_schema: dict[str, Any] | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": self.config.temperature,
            "stream": stream,
        }
        if json_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": json_schema, "strict": True},
            }
        return body

    # -- Generator protocol --------------------------------------------------------------------------------
    def generate(self, messages: list[dict[str, str]], max_tokens: int = 256, json_schema: dict[str, Any] | None = None) -> str:
        response = self._request("POST", "/chat/completions", self._body(messages, max_tokens, False, json_schema))
        data = self._json(response, "/chat/completions")
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise GeneratorError(
                f"malformed response from {self.base_url}/chat/completions: no choices[0].message.content in "
                f"{json.dumps(data)[:200]}"
            ) from exc
        if content is None:
            return ""
        if not isinstance(content, str):
            raise GeneratorError(
                f"malformed response from {self.base_url}/chat/completions: content is {type(content).__name__}"
            )
        return content

    def complete_json(self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int = 256) -> tuple[str, int, int]:
        """A JSON answer constrained to ``schema`` (``response_format`` json_schema) and the server's
        (prompt, completion) token counts from ``usage`` (0 where the server reports none)."""
        response = self._request("POST", "/chat/completions", self._body(messages, max_tokens, False, schema))
        data = self._json(response, "/chat/completions")
        try:
            content = data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as exc:
            raise GeneratorError(f"malformed response from {self.base_url}/chat/completions: no choices[0].message.content "
                                 f"in {json.dumps(data)[:200]}") from exc
        usage = data.get("usage") or {}
        return str(content), int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)

    def stream(self, messages: list[dict[str, str]], max_tokens: int = 256) -> Iterator[str]:
        """Yield content pieces as the server sends them (retries only before the first piece)."""
        body = self._body(messages, max_tokens, True, None)
        last = ""
        for attempt in range(self.config.max_retries + 1):
            started = False
            response = None
            try:
                with self.client.stream("POST", "/chat/completions", json=body) as response:
                    if response.status_code >= 400:
                        response.read()
                        last = f"HTTP {response.status_code}: {_error_text(response)}"
                        if response.status_code not in _RETRY_STATUS:
                            raise GeneratorError(f"POST {self.base_url}/chat/completions failed: {last}")
                    else:
                        for piece in _sse_pieces(response, self.base_url):
                            started = True
                            yield piece
                        return
            except httpx.TimeoutException as exc:
                if started:
                    raise GeneratorError(f"stream from {self.base_url} timed out mid-answer") from exc
                last = f"timed out after {self.config.timeout:g} s"
            except httpx.TransportError as exc:
                if started:
                    raise GeneratorError(f"stream from {self.base_url} broke mid-answer: {exc}") from exc
                last = f"cannot connect ({type(exc).__name__}: {exc})"
            if attempt < self.config.max_retries:
                self._sleep(attempt, response)
        raise GeneratorError(
            f"POST {self.base_url}/chat/completions (stream) failed after "
            f"{self.config.max_retries + 1} attempt(s): {last}"
        )

    def generate_batch(
        self, batch: list[list[dict[str, str]]], max_tokens: int = 256, json_schema: dict[str, Any] | None = None
    ) -> list[str]:
        """Answer several prompts with up to ``concurrency`` requests in flight."""
        if not batch:
            return []
        _ = self.model  # resolve once, not in every thread
        if self.concurrency == 1 or len(batch) == 1:
            return [self.generate(m, max_tokens, json_schema) for m in batch]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(batch))) as pool:
            return list(pool.map(lambda m: self.generate(m, max_tokens, json_schema), batch))


def _sse_pieces(response: httpx.Response, base_url: str) -> Iterator[str]:
    """Content deltas from an SSE chat-completions stream, up to ``data: [DONE]``."""
    for line in response.iter_lines():
        line = line.strip()
        if not line or line.startswith(":") or not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            return
        try:
            event = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise GeneratorError(f"malformed stream event from {base_url}: {payload[:200]!r}") from exc
        if isinstance(event, dict) and "error" in event:
            raise GeneratorError(f"server error in stream from {base_url}: {event['error']}")
        try:
            choice = event["choices"][0] if event["choices"] else {}
        except (KeyError, TypeError) as exc:
            raise GeneratorError(f"malformed stream event from {base_url}: {payload[:200]!r}") from exc
        piece = (choice.get("delta") or {}).get("content") or ""
        if piece:
            yield piece


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
        if isinstance(data, dict) and "error" in data:
            err = data["error"]
            return str(err.get("message", err) if isinstance(err, dict) else err)[:300]
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        pass
    return response.text[:300] or response.reason_phrase
