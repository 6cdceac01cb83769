"""Every error the server returns is JSON ``{"error": message, "status": code}``, never a stack trace."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

log = logging.getLogger("ragkit.server")


class ApiError(Exception):
    """An error with the HTTP status that fits it (400 bad request, 403, 404, 409, 413, 415, 422 ...)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


TOO_LONG = frozenset({"string_too_long", "too_long"})  # pydantic's errors for a value over its max_length


def validation_status(exc: RequestValidationError) -> int:
    """422 when a field is over its size limit, 400 for any other invalid request."""
    return 422 if any(err.get("type") in TOO_LONG for err in exc.errors()) else 400


def install(app: FastAPI) -> None:
    """Register the JSON error handlers on ``app``."""
    from ragkit.store import StoreLockedError, StoreMismatchError

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.headers)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_status(exc), _validation_message(exc))

    @app.exception_handler(StoreLockedError)
    async def _locked(_: Request, exc: StoreLockedError) -> JSONResponse:
        return error_response(409, str(exc))

    @app.exception_handler(StoreMismatchError)
    async def _mismatch(_: Request, exc: StoreMismatchError) -> JSONResponse:
        return error_response(409, str(exc))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(500, f"internal error ({type(exc).__name__}); see the server log")


def describe(exc: BaseException) -> dict[str, Any]:
    """A job's or a stream's error as data: the message, no traceback."""
    return {"error": str(exc) or type(exc).__name__, "type": type(exc).__name__}
