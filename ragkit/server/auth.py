"""Bearer-token auth and the principal each token reads as.

The token of ``[server] token_env`` reads as ``[server] token_labels``; each ``[server] tokens`` entry
``{env = "VAR", labels = ["hr"]}`` adds the token held in ``$VAR``, reading as its labels. Labels are
bound to tokens in the store's config only: a client cannot choose its own. When any token is set,
every route but ``/health`` (and the static page) requires one; with none set, the server is open and
every request reads public documents only. No token ever defaults to reading everything: that takes
an explicit ``labels = ["*"]`` (docs/access.md).
"""
from __future__ import annotations

import os
import secrets
from typing import Any

from fastapi import Request

from ragkit.access import PUBLIC, AccessError, Principal, principal
from ragkit.server.errors import ApiError

OPEN_PATHS = frozenset({"/health", "/", "/favicon.ico"})
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def server_token(token_env: str) -> str | None:
    """The configured token, or None when auth is off (no variable named, or it is unset/empty)."""
    value = os.environ.get(token_env, "") if token_env else ""
    return value or None


def server_tokens(config: Any, env: Any = None) -> dict[str, Principal]:
    """token -> the principal it reads as, from ``[server]`` (``{}``: auth is off); AccessError names a
    bad ``tokens`` entry or a token bound twice to different labels."""
    env = os.environ if env is None else env
    out: dict[str, Principal] = {}

    def add(token: str, labels: Any, where: str) -> None:
        if isinstance(labels, str) or not isinstance(labels, (list, tuple)):
            raise AccessError(f"{where}: labels must be a list of labels, got {labels!r}")
        who = principal(list(labels))
        assert who is not None
        if token in out and out[token] != who:
            raise AccessError(f"{where}: the same token is bound to two sets of labels")
        out[token] = who

    value = env.get(config.token_env, "") if config.token_env else ""
    if value:
        add(value, list(config.token_labels), "server.token_labels")
    for i, entry in enumerate(config.tokens):
        where = f"server.tokens[{i}]"
        if not isinstance(entry, dict) or set(entry) - {"env", "labels"} or not isinstance(entry.get("env"), str):
            raise AccessError(f"{where}: expected {{env = \"VARIABLE\", labels = [\"LABEL\", ...]}}, got {entry!r}")
        token = env.get(entry["env"], "")
        if token:
            add(token, entry.get("labels", []), where)
    return out


def check(request: Request, tokens: dict[str, Principal]) -> Principal:
    """The request's principal; 401 unless it carries ``Authorization: Bearer <token>`` of a known
    token (public only, and no check, when no token is configured or on an open path)."""
    if not tokens or request.url.path in OPEN_PATHS:
        return PUBLIC
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise ApiError(401, "missing bearer token (Authorization: Bearer <token>)", CHALLENGE)
    found = None
    for token, who in tokens.items():  # compare with every token: the time does not tell which matched
        if secrets.compare_digest(given.strip().encode(), token.encode()):
            found = who
    if found is None:
        raise ApiError(401, "invalid bearer token", CHALLENGE)
    return found


def principal_of(request: Request) -> Principal:
    """The principal the auth middleware bound to ``request`` (public when none was)."""
    return getattr(request.state, "principal", PUBLIC)
