"""``POST /ask`` with ``"stream": true``: Server-Sent Events, one ``token`` event per generated piece,
then one ``answer`` event with the verified answer and its citations (or one ``error`` event)."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from ragkit.server.errors import describe

_DONE = object()


def sse(event: str, data: Any) -> bytes:
    """One SSE frame."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def stream_answer(run: Callable[[Callable[[str], None]], dict[str, Any]]) -> AsyncIterator[bytes]:
    """Run ``run(on_token)`` in a thread and relay its tokens, then its result, as SSE frames."""
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
