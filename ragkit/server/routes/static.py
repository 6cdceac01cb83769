"""``GET /`` (the web chatbot, one static page) and ``GET /health`` (liveness; open without a token)."""
from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

import ragkit
from ragkit.server.state import ServerState


def router(state: ServerState) -> APIRouter:
    kit = state.kit
    api = APIRouter()

    @api.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        """The web chatbot."""
        return HTMLResponse(files("ragkit.server").joinpath("static/index.html").read_text(encoding="utf-8"))

    @api.get("/health")
    def health() -> dict[str, Any]:
        """Liveness, and whether the models are loaded (the first query loads them)."""
        return {
            "status": "ok",
            "warm": state.warm,
            "store": str(kit.path),
            "generator": kit.config.generator.name,
            "auth": bool(state.tokens),
            "jobs_running": state.jobs.busy,
            "version": ragkit.__version__,
        }

    return api
