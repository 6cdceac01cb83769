"""Reads, on the server's Kit in request threads: ``GET /search``, ``POST /ask`` (JSON or Server-Sent
Events), ``GET /documents`` and ``GET /documents/{id}``. Each runs as the principal bound to the
request's token: its ``where`` becomes a :class:`ragkit.access.Scope` of that principal, and a document
it cannot read does not exist for it (404)."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Optional

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse

from ragkit.access import AccessError, Scope
from ragkit.router import MODES
from ragkit.server import auth
from ragkit.server.errors import ApiError
from ragkit.server.schemas import AskRequest, check_ask, check_meta, check_text
from ragkit.server.state import MAX_PAGE, ServerState
from ragkit.server.streaming import answer_stream
from ragkit.types import Answer


def parse_where(values: list[str] | None) -> dict[str, Any] | None:
    """``where`` as a JSON object, or ``key=value`` pairs (repeatable); 400 on anything else."""
    out: dict[str, Any] = {}
    for value in values or []:
        if value.lstrip().startswith("{"):
            try:
                data = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ApiError(400, f"where: invalid JSON object: {exc}") from exc
            if not isinstance(data, dict):
                raise ApiError(400, "where: expected a JSON object")
            out.update(data)
            continue
        key, sep, val = value.partition("=")
        if not sep or not key.strip():
            raise ApiError(400, f"where: expected key=value or a JSON object, got {value!r}")
        out[key.strip()] = val.strip()
    return out or None


def scope(request: Request, where: dict[str, Any] | None) -> Scope:
    """``where`` limited to what the request's token reads (400 for a reserved ``@`` key)."""
    try:
        return Scope.of(where, auth.principal_of(request))
    except AccessError as exc:
        raise ApiError(400, str(exc)) from exc


def router(state: ServerState) -> APIRouter:
    kit, config = state.kit, state.config
    api = APIRouter()

    def readable(request: Request, doc_id: str) -> bool:
        found = kit.store.doc_state(doc_id)
        return found is not None and auth.principal_of(request).can_read(found[1])

    @api.get("/search")
    def search(
        request: Request,
        q: Annotated[str, Query(min_length=1, description="The query.")],
        k: Annotated[int, Query(ge=1, le=100)] = 10,
        mode: Annotated[Optional[str], Query(description="lexical | dense | hybrid (default: config)")] = None,
        where: Annotated[Optional[list[str]], Query(description="key=value (repeatable) or a JSON object")] = None,
    ) -> list[dict[str, Any]]:
        """Ranked hits with provenance: source, page, heading, span, chunk id, score."""
        if not q.strip():
            raise ApiError(400, "q: empty query")
        check_text("q", q, config)
        if mode is not None and mode not in MODES:
            raise ApiError(400, f"mode: unknown {mode!r}; valid: {', '.join(MODES)}")
        parsed = parse_where(where)
        check_meta("where", parsed, config)
        filters = scope(request, parsed)
        hits = state.read(lambda: state.searches.search(q, k, mode, filters))
        return [{**h.to_dict(), "doc_id": h.chunk.doc_id} for h in hits]

    def answer_payload(answer: Answer) -> dict[str, Any]:
        data = answer.to_dict()
        doc_ids = {c.chunk_id: c.doc_id for c in kit.chunks([c["chunk_id"] for c in data["citations"]])}
        for citation in data["citations"]:
            citation["doc_id"] = doc_ids.get(citation["chunk_id"])
        return data

    def check_generator(name: str | None) -> None:
        """400 for an unknown generator, 403 for one the server does not let clients pick."""
        if name is None:
            return
        from ragkit.generation import GENERATORS

        if name not in GENERATORS:
            raise ApiError(400, f"generator: unknown {name!r}; valid: {', '.join(GENERATORS)}")
        if name not in state.generators:
            raise ApiError(403, f"generator: {name!r} is not allowed on this server; allowed: "
                                f"{', '.join(sorted(state.generators))} (generator.name and server.generators)")

    def run_ask(body: AskRequest, where: Scope, on_token: Callable[[str], None] | None = None) -> dict[str, Any]:
        if body.history:
            history = [t.model_dump() for t in body.history]
            answer = state.read(lambda: kit.chat(history, body.question, generator=body.generator, where=where,
                                                 k=body.k, on_token=on_token))
        else:
            answer = state.read(lambda: kit.ask(body.question, generator=body.generator, where=where, k=body.k,
                                                on_token=on_token))
        return answer_payload(answer)

    @api.post("/ask", response_model=None, responses={200: {"content": {"text/event-stream": {}}}})
    def ask(body: AskRequest, request: Request) -> dict[str, Any] | EventSourceResponse:
        """An answer with numbered, verified citations; ``"stream": true`` sends Server-Sent Events."""
        if not body.question.strip():
            raise ApiError(400, "question: empty")
        check_ask(body, config)
        check_generator(body.generator)
        where = scope(request, body.where)
        if body.stream:
            return answer_stream(lambda on_token: run_ask(body, where, on_token))
        return run_ask(body, where)

    @api.get("/documents", response_model=list[dict[str, Any]])
    def documents(
        request: Request,
        limit: Annotated[Optional[int], Query(ge=1, le=MAX_PAGE, description="Page size (default: server.page_size).")] = None,
        offset: Annotated[int, Query(ge=0, description="Documents to skip.")] = 0,
    ) -> JSONResponse:
        """A page of the indexed documents the token reads, in source order: id, source, format, chunks,
        metadata, labels. A ``Link: <...>; rel="next"`` header names the next page while there is one."""
        size = limit or config.page_size
        page = kit.documents(principal=auth.principal_of(request), limit=size + 1, offset=offset)
        headers = {}
        if len(page) > size:
            page = page[:size]
            headers["Link"] = f'</documents?limit={size}&offset={offset + size}>; rel="next"'
        return JSONResponse(page, headers=headers)

    @api.get("/documents/{doc_id:path}")
    def document(doc_id: str, request: Request) -> dict[str, Any]:
        """One document with its full text (citation spans index into it) and its chunks' spans."""
        if not readable(request, doc_id):  # a forbidden document does not exist for this token
            raise ApiError(404, f"no document {doc_id!r}")
        try:
            doc = kit.store.document(doc_id)
        except KeyError:
            raise ApiError(404, f"no document {doc_id!r}") from None
        chunks = [
            {"chunk_id": c.chunk_id, "span": list(c.span), "page": c.page, "heading": c.heading, "kind": c.kind}
            for c in kit.store.doc_chunks(doc_id)
        ]
        return {
            "doc_id": doc.doc_id,
            "source": doc.source,
            "format": doc.format,
            "metadata": doc.metadata,
            "text": doc.text,
            "chunks": chunks,
        }

    return api
