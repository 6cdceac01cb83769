"""``ragkit serve``: the REST API and the web chatbot over the store (extra ``[server]``)."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from ragkit.cli.common import DEFAULT_STORE, JsonOpt, QuietOpt, StoreOpt, emit, fail, stderr


def serve_command(
    host: Annotated[Optional[str], typer.Option("--host", help="Interface (default: server.host, 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option("--port", help="Port (default: server.port, 8000).")] = None,
    store: StoreOpt = DEFAULT_STORE,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Serve the store over HTTP: /search, /ask (SSE), /index jobs, /documents, and a web chatbot at /."""
    import ragkit

    try:
        import uvicorn

        from ragkit.server.app import create_app
    except ImportError as exc:
        fail(str(exc) if "ragkit[" in str(exc) else f"{exc}: pip install 'ragkit[server]'")
    kit = ragkit.open(store)
    host = host or kit.config.server.host
    port = kit.config.server.port if port is None else port
    app = create_app(kit)
    url = f"http://{host}:{port}"
    if json:
        emit({"url": url, "store": str(kit.path), "auth": bool(app.state.ragkit.tokens)}, True)
    else:
        stderr(quiet).print(f"ragkit serving {kit.path} at {url} (web chatbot at {url}/)", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning" if quiet or json else "info")


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``ragkit`` app."""
    app.command("serve")(serve_command)
