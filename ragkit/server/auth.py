"""Optional bearer-token auth: the token comes from the environment variable named in
``[server] token_env``; when it is set, every route but ``/health`` (and the static page) requires it."""
from __future__ import annotations

import os
import secrets

from fastapi import Request

from ragkit.server.errors import ApiError

OPEN_PATHS = frozenset({"/health", "/", "/favicon.ico"})
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def server_token(token_env: str) -> str | None:
    """The configured token, or None when auth is off (no variable named, or it is unset/empty)."""
    value = os.environ.get(token_env, "") if token_env else ""
    return value or None


def check(request: Request, token: str | None) -> None:
    """Raise 401 unless the request carries ``Authorization: Bearer <token>`` (no-op without a token)."""
    if token is None or request.url.path in OPEN_PATHS:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise ApiError(401, "missing bearer token (Authorization: Bearer <token>)", CHALLENGE)
    if not secrets.compare_digest(given.strip().encode(), token.encode()):
        raise ApiError(401, "invalid bearer token", CHALLENGE)
