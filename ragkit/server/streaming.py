"""``POST /ask`` with ``"stream": true``: Server-Sent Events (``sse-starlette``), one ``token`` event per
generated piece, then one ``answer`` event with the verified answer and its citations (or one ``error``
event). Frames end with a blank line (``\\n\\n``), the data is one line of JSON; a ``: ping`` comment
keeps an idle connection open."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from sse_starlette import EventSourceResponse

from ragkit.server.errors import describe

_DONE = object()
SEP = "\n"  # what the web page and the clients split frames on (sse-starlette's default is CRLF)


def sse(event: str, data: Any) -> dict[str, str]:
    """One SSE event (``event:`` and one ``data:`` line of JSON), as EventSourceResponse encodes it."""
    return {"event": event, "data": json.dumps(data, ensure_ascii=False)}


async def stream_answer(run: Callable[[Callable[[str], None]], dict[str, Any]]) -> AsyncIterator[dict[str, str]]:
    """Run ``run(on_token)`` in a thread and relay its tokens, then its result, as SSE events."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()

    def push(item: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, item)

    def work() -> None:
        try:
            push(("answer", run(lambda piece: push(("token", {"text": piece})))))
        except Exception as exc:  # noqa: BLE001 - sent to the client as an error event
            push(("error", describe(exc)))
        finally:
            push(_DONE)

    loop.run_in_executor(None, work)  # a client that leaves early lets the thread finish its answer
    while (item := await queue.get()) is not _DONE:
        yield sse(*item)


def answer_stream(run: Callable[[Callable[[str], None]], dict[str, Any]]) -> EventSourceResponse:
    """The SSE response of a streamed answer."""
    return EventSourceResponse(stream_answer(run), sep=SEP)  # Cache-Control: no-store, no proxy buffering
