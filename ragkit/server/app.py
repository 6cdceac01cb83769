"""The FastAPI app: the same Kit and config as the SDK and the CLI, over HTTP.

Reads (search, ask, documents) run on the server's Kit in request threads; writes (index, upload,
delete) run one at a time as background jobs on a second Kit in a worker thread (``jobs.py``), so
searches keep being answered while an index job runs. Models load on the first query. The routes live
in ``ragkit.server.routes`` by job (reading, writing, jobs, static); what they share is the app's
:class:`~ragkit.server.state.ServerState`.

Every request passes, outermost first: the ``Host`` allow-list (400, ``auth.HostGuard``), CORS when
``server.cors_origins`` names origins, the ``Origin`` check of writes (403), the bearer token (401),
the Content-Type of JSON routes (415), then the body size limits (413, ``uploads.BodyLimit``); field
limits are 422 (``schemas.py``). ``create_app`` serves without a token when none is configured (public
documents only); ``ragkit serve`` refuses to, unless told ``--open`` on a loopback address.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from ragkit.extras import require

require("fastapi", "server", "ragkit serve")
require("python_multipart", "server", "uploads to ragkit serve")
require("sse_starlette", "server", "ragkit serve")

from fastapi import FastAPI, Request, Response  # noqa: E402
from starlette.middleware.cors import CORSMiddleware  # noqa: E402

import ragkit  # noqa: E402
from ragkit.kit import Kit  # noqa: E402
from ragkit.server import auth, errors  # noqa: E402
from ragkit.server.errors import ApiError  # noqa: E402
from ragkit.server.routes import jobs, reading, static, writing  # noqa: E402
from ragkit.server.state import MAX_PAGE, ServerState, check_server_config  # noqa: E402
from ragkit.server.uploads import BodyLimit  # noqa: E402

JSON_BODIES = {"/ask": ("application/json",), "/index": ("application/json", "multipart/form-data")}
__all__ = ["MAX_PAGE", "ServerState", "check_server_config", "create_app"]


def check_content_type(request: Request) -> None:
    """415 unless a JSON route's body says it is JSON: a cross-site page can send text/plain or a
    form without a CORS preflight, never application/json."""
    accepted = JSON_BODIES.get(request.url.path)
    if request.method != "POST" or accepted is None:
        return
    given = request.headers.get("content-type", "")
    if given.split(";")[0].strip().lower() not in accepted:
        raise ApiError(415, f"POST {request.url.path} takes Content-Type: {' or '.join(accepted)}"
                            f" (got {given[:100]!r})")


def create_app(store: str | Path | Kit = ".ragkit") -> FastAPI:
    """The REST app for a store (a path, or an open Kit whose config it uses)."""
    kit = store if isinstance(store, Kit) else ragkit.open(store)
    state = ServerState(kit)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    app = FastAPI(
        lifespan=lifespan,
        title="ragkit",
        version=ragkit.__version__,
        description="Offline retrieval-augmented generation with verified citations.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.ragkit = state
    errors.install(app)
    config = state.config
    # middleware added first runs innermost: body limits, then the checks below, CORS, the Host check
    app.add_middleware(BodyLimit, body_limit=config.max_body_bytes, upload_limit=config.max_upload_bytes)

    @app.middleware("http")
    async def _admit(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        try:
            auth.check_origin(request, config.cors_origins)
            request.state.principal = auth.check(request, state.tokens)
            check_content_type(request)
        except ApiError as exc:
            return errors.error_response(exc.status, exc.message, exc.headers)
        return await call_next(request)

    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=list(config.cors_origins), allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"], expose_headers=["Link"],
        )
    app.add_middleware(auth.HostGuard, allowed=state.hosts)
    for routes in (static, reading, writing, jobs):
        app.include_router(routes.router(state))
    return app
