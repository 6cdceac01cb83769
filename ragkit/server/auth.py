"""Bearer-token auth and the principal each token reads as.

The token of ``[server] token_env`` reads as ``[server] token_labels``; each ``[server] tokens`` entry
``{env = "VAR", labels = ["hr"]}`` adds the token held in ``$VAR``, reading as its labels. Labels are
bound to tokens in the store's config only: a client cannot choose its own. When any token is set,
every route but ``/health`` (and the static page) requires one; with none set, the server is open and
every request reads public documents only. No token ever defaults to reading everything: that takes
an explicit ``labels = ["*"]`` (docs/access.md).

Before any of that, what a browser could be made to send is refused: a ``Host`` header outside
``[server] allowed_hosts`` (DNS rebinding) is a 400 (:class:`HostGuard`), and a write (POST, PUT,
PATCH, DELETE) whose ``Origin`` is neither the server's own nor in ``[server] cors_origins`` is a 403
(:func:`check_origin`). Clients that send no ``Origin`` (curl, the SDKs) are not affected.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ragkit.access import PUBLIC, AccessError, Principal, principal
from ragkit.config import ServerConfig
from ragkit.server.errors import ApiError, error_response

OPEN_PATHS = frozenset({"/health", "/", "/favicon.ico"})
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def server_token(token_env: str) -> str | None:
    """The configured token, or None when auth is off (no variable named, or it is unset/empty)."""
    value = os.environ.get(token_env, "") if token_env else ""
    return value or None


def server_tokens(config: ServerConfig, env: Mapping[str, str] | None = None) -> dict[str, Principal]:
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


# -- Host and Origin ---------------------------------------------------------------------------------

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PORTS = {"http": "80", "https": "443"}
TEST_CLIENT = ("testclient", "testserver")  # starlette's in-process TestClient: (client, Host) it sends


def host_name(header: str | None) -> str | None:
    """The host of a ``Host`` header, lower case, without its port (``[::1]:8000`` → ``[::1]``);
    None when it is missing or malformed."""
    value = (header or "").strip().lower()
    if not value:
        return None
    if value.startswith("["):
        end = value.find("]")
        host, rest = (value[: end + 1], value[end + 1:]) if end > 1 else ("", "")
    else:
        host, colon, port = value.partition(":")
        rest = colon + port
    if not host or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
        return None
    return host


def host_allowed(host: str, patterns: list[str]) -> bool:
    """``host`` matches a pattern: the same name, ``*`` (any), or ``*.domain`` (any subdomain)."""
    for pattern in patterns:
        if pattern == "*" or host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


def check_host_patterns(patterns: Any) -> list[str]:
    """``[server] allowed_hosts`` as lower-case patterns; ValueError naming a bad one."""
    if isinstance(patterns, str) or not isinstance(patterns, (list, tuple)):
        raise ValueError(f"server.allowed_hosts must be a list of host names, got {patterns!r}")
    out = []
    for pattern in patterns:
        p = pattern.strip().lower() if isinstance(pattern, str) else ""
        ipv6 = p.startswith("[") and p.endswith("]")
        wildcard_ok = "*" not in p[1:] and (not p.startswith("*") or p == "*" or p.startswith("*."))
        if not p or not wildcard_ok or "/" in p or (":" in p and not ipv6):
            raise ValueError(f"server.allowed_hosts: {pattern!r} is not a host name, [IPv6] address, "
                             "'*.domain' or '*' (without a port)")
        out.append(p)
    return out


class HostGuard:
    """ASGI middleware: 400 unless the request's ``Host`` is in ``allowed`` (what starlette's
    TrustedHostMiddleware checks, answered as the server's JSON error). A page whose own name was
    rebound to 127.0.0.1 still sends its own name as ``Host``, so it never reads the API."""

    def __init__(self, app: ASGIApp, allowed: list[str]):
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw = Headers(scope=scope).get("host")
        host = host_name(raw)
        client = scope.get("client") or ("", 0)
        in_process = client[0] == TEST_CLIENT[0] and host == TEST_CLIENT[1]  # no browser reaches it
        if host is None or not (in_process or host_allowed(host, self.allowed)):
            shown = (raw or "")[:100]
            response = error_response(400, f"Host {shown!r} is not allowed; the server answers to "
                                           f"{', '.join(self.allowed)} (server.allowed_hosts)")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _origin(scheme: str, netloc: str) -> str:
    scheme, netloc = scheme.lower(), netloc.lower().rstrip("/")
    default = DEFAULT_PORTS.get(scheme)
    if default and netloc.endswith(f":{default}") and not netloc.endswith("]"):
        netloc = netloc[: -len(default) - 1]
    return f"{scheme}://{netloc}"


def check_origin(request: Request, allowed: list[str]) -> None:
    """403 for a write whose ``Origin`` header is another site's: not the server's own (scheme, host
    and port of this request) and not one of ``[server] cors_origins``. Without ``Origin`` it passes."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin is None:
        return
    scheme, sep, netloc = origin.strip().partition("://")
    given = _origin(scheme, netloc) if sep else origin.strip().lower()
    own = _origin(request.url.scheme, request.headers.get("host", ""))
    if given == own or "*" in allowed or given in {_origin(*o.partition("://")[::2]) for o in allowed}:
        return
    raise ApiError(403, f"cross-origin {request.method} from {origin[:100]!r} refused: only the server's own "
                        "page and the origins in server.cors_origins may write")
