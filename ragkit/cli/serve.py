"""``ragkit serve``: the REST API and the web chatbot over the store (extra ``[server]``).

Without a bearer token configured (``server.token_env``, ``server.tokens``) anyone who reaches the port
reads the public documents and starts index jobs, so ``serve`` refuses to start unless told ``--open``,
and ``--open`` only on a loopback address.
"""
from __future__ import annotations

import ipaddress
from typing import Annotated, Optional

import typer

from ragkit.cli.common import DEFAULT_STORE, JsonOpt, QuietOpt, StoreOpt, emit, fail, stderr


WILDCARDS = ("0.0.0.0", "::", "")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or ``localhost``."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_pattern(host: str) -> str:
    """``host`` as a ``Host`` header names it (IPv6 in brackets)."""
    name = host.strip().strip("[]").lower()
    return f"[{name}]" if ":" in name else name


def serve_command(
    host: Annotated[Optional[str], typer.Option("--host", help="Interface (default: server.host, 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option("--port", help="Port (default: server.port, 8000).")] = None,
    open_: Annotated[bool, typer.Option(
        "--open", help="Serve without a bearer token (public documents, to anyone who reaches the port); "
                       "loopback addresses only.")] = False,
    store: StoreOpt = DEFAULT_STORE,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Serve the store over HTTP: /search, /ask (SSE), /index jobs, /documents, and a web chatbot at /."""
    import ragkit

    try:
        import uvicorn

        from ragkit.server.app import create_app
        from ragkit.server.auth import server_tokens
    except ImportError as exc:
        fail(str(exc) if "ragkit[" in str(exc) else f"{exc}: pip install 'ragkit[server]'")
    kit = ragkit.open(store)
    config = kit.config.server
    host = host or config.host
    port = config.port if port is None else port
    try:
        tokens = server_tokens(config)
    except ValueError as exc:
        fail(str(exc))
    if not tokens and not open_:
        variable = config.token_env or "(server.token_env is empty)"
        fail(f"no bearer token is set: set the environment variable {variable} (server.token_env) or one of "
             "server.tokens, or pass --open to serve public documents without a token on a loopback address")
    if not tokens and not is_loopback(host):
        fail(f"--open serves without a token, so only on a loopback address (127.0.0.1, ::1, localhost), "
             f"not {host}: set a token (server.token_env) to listen on {host}")
    if host not in WILDCARDS and host_pattern(host) not in config.allowed_hosts:
        config.allowed_hosts = [*config.allowed_hosts, host_pattern(host)]  # the address it was asked to serve
    try:
        app = create_app(kit)
    except ValueError as exc:
        fail(str(exc))
    url = f"http://{host_pattern(host) if host not in WILDCARDS else host}:{port}"
    if json:
        emit({"url": url, "store": str(kit.path), "auth": bool(app.state.ragkit.tokens)}, True)
    else:
        stderr(quiet).print(f"ragkit serving {kit.path} at {url} (web chatbot at {url}/)", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning" if quiet or json else "info")


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``ragkit`` app."""
    app.command("serve")(serve_command)
