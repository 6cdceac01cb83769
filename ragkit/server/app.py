"""The FastAPI app: the same Kit and config as the SDK and the CLI, over HTTP.

Reads (search, ask, documents) run on the server's Kit in request threads; writes (index, upload,
delete) run one at a time as background jobs on a second Kit in a worker thread (``jobs.py``), so
searches keep being answered while an index job runs. Models load on the first query.

Every request passes, outermost first: the ``Host`` allow-list (400, ``auth.HostGuard``), CORS when
``server.cors_origins`` names origins, the ``Origin`` check of writes (403), the bearer token (401),
the Content-Type of JSON routes (415), then the body size limits (413, ``uploads.BodyLimit``); field
limits are 422 (``schemas.py``). ``create_app`` serves without a token when none is configured (public
documents only); ``ragkit serve`` refuses to, unless told ``--open`` on a loopback address.
"""
from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Optional

from ragkit.extras import require

require("fastapi", "server", "ragkit serve")
require("python_multipart", "server", "uploads to ragkit serve")

from fastapi import FastAPI, Query, Request  # noqa: E402
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse  # noqa: E402
from pydantic import ValidationError  # noqa: E402
from starlette.middleware.cors import CORSMiddleware  # noqa: E402

import ragkit  # noqa: E402
from ragkit.access import AccessError, scoped  # noqa: E402
from ragkit.kit import Kit  # noqa: E402
from ragkit.retrieval import MODES  # noqa: E402
from ragkit.server import auth, errors, writer  # noqa: E402
from ragkit.server.batching import SearchBatcher  # noqa: E402
from ragkit.server.errors import ApiError  # noqa: E402
from ragkit.server.jobs import JobRunner  # noqa: E402
from ragkit.server.schemas import AskRequest, IndexRequest, check_ask, check_index, check_meta, check_text  # noqa: E402
from ragkit.server.streaming import stream_answer  # noqa: E402
from ragkit.server.threadsafe import SerializedEmbedder  # noqa: E402
from ragkit.server.uploads import BodyLimit, receive_files  # noqa: E402

MAX_PAGE = 1000  # the largest ?limit= of GET /documents
JSON_BODIES = {"/ask": ("application/json",), "/index": ("application/json", "multipart/form-data")}
POSITIVE = ("max_upload_bytes", "max_body_bytes", "max_question_chars", "max_meta_chars", "page_size")


def check_server_config(config: Any, default_generator: str) -> tuple[list[str], set[str]]:
    """``[server]``'s request limits and allow-lists, checked once at start: the Host patterns and the
    generators a client may pick (ValueError naming the key)."""
    from ragkit.generation import GENERATORS

    for key in POSITIVE:
        if getattr(config, key) < 1:
            raise ValueError(f"server.{key} must be at least 1, got {getattr(config, key)!r}")
    if config.max_history_turns < 0:
        raise ValueError(f"server.max_history_turns must be 0 or more, got {config.max_history_turns!r}")
    if config.page_size > MAX_PAGE:
        raise ValueError(f"server.page_size must be at most {MAX_PAGE}, got {config.page_size!r}")
    for key in ("cors_origins", "generators"):
        value = getattr(config, key)
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"server.{key} must be a list of names, got {value!r}")
    unknown = [g for g in config.generators if g not in GENERATORS]
    if unknown:
        raise ValueError(f"server.generators: unknown {', '.join(map(repr, unknown))}; valid: {', '.join(GENERATORS)}")
    return auth.check_host_patterns(config.allowed_hosts), {default_generator, *config.generators}


class ServerState:
    """What one app serves: the reading Kit, the write-job runner, the auth token, warm-up state."""

    def __init__(self, kit: Kit):
        kit.close()  # drops cached retrievers and generators (the store reopens on use) so that
        kit.embedder = SerializedEmbedder(kit.embedder)  # every one built from now on holds the lock
        self.kit = kit
        self.config = kit.config.server
        self.tokens = auth.server_tokens(self.config)  # token -> principal ({}: open, public documents only)
        self.hosts, self.generators = check_server_config(self.config, kit.config.generator.name)
        self.jobs = JobRunner(self._open_writer, writer.OPERATIONS)
        self._uploads: Path | None = None  # where uploads wait for their job (made on the first one)
        self.searches = SearchBatcher(lambda queries, k, mode, where: kit.search_batch(queries, k, mode, where))
        self.warm = False
        self._warm_lock = threading.Lock()

    def _open_writer(self) -> Kit:
        return ragkit.open(self.kit.path)  # its own embedder: index jobs never wait for queries' lock

    def read(self, work: Any) -> Any:
        """Run a query on the reading Kit; the first one loads the models (once, under a lock)."""
        if self.warm:
            return work()
        with self._warm_lock:
            result = work()
            self.warm = True
            return result

    def upload_root(self) -> Path:
        """The server's own folder for received uploads (removed on close, whatever became of the jobs)."""
        if self._uploads is None:
            self._uploads = Path(tempfile.mkdtemp(prefix="ragkit-server-"))
        return self._uploads

    def close(self) -> None:
        self.jobs.close()  # the running job finishes; queued ones are cancelled and clean up
        if self._uploads is not None:
            shutil.rmtree(self._uploads, ignore_errors=True)
        self.kit.close()


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
    async def _admit(request: Request, call_next: Any) -> Any:
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

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        """The web chatbot."""
        return HTMLResponse(files("ragkit.server").joinpath("static/index.html").read_text(encoding="utf-8"))

    @app.get("/health")
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

    def scope(request: Request, where: dict[str, Any] | None) -> dict[str, Any] | None:
        """``where`` limited to what the request's token reads (400 if the client names the access key)."""
        try:
            return scoped(where, auth.principal_of(request))
        except AccessError as exc:
            raise ApiError(400, str(exc)) from exc

    def readable(request: Request, doc_id: str) -> bool:
        state = kit.store.doc_state(doc_id)
        return state is not None and auth.principal_of(request).can_read(state[1])

    @app.get("/search")
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

    def answer_payload(answer: Any) -> dict[str, Any]:
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

    def run_ask(body: AskRequest, where: dict[str, Any] | None, on_token: Any = None) -> dict[str, Any]:
        kwargs = {"generator": body.generator, "where": where, "k": body.k, "on_token": on_token}
        if body.history:
            history = [t.model_dump() for t in body.history]
            answer = state.read(lambda: kit.chat(history, body.question, **kwargs))
        else:
            answer = state.read(lambda: kit.ask(body.question, **kwargs))
        return answer_payload(answer)

    @app.post("/ask", responses={200: {"content": {"text/event-stream": {}}}})
    def ask(body: AskRequest, request: Request) -> Any:
        """An answer with numbered, verified citations; ``"stream": true`` sends Server-Sent Events."""
        if not body.question.strip():
            raise ApiError(400, "question: empty")
        check_ask(body, config)
        check_generator(body.generator)
        where = scope(request, body.where)
        if body.stream:
            return StreamingResponse(
                stream_answer(lambda on_token: run_ask(body, where, on_token)),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        return run_ask(body, where)

    @app.post(
        "/index",
        status_code=202,
        openapi_extra={
            "requestBody": {
                "content": {
                    "application/json": {"schema": IndexRequest.model_json_schema()},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                        }
                    },
                }
            }
        },
    )
    async def index(request: Request) -> JSONResponse:
        """Index server paths under ``server.allowed_root`` (JSON) or uploaded files (multipart) in the
        background; returns a job id to poll at ``/jobs/{id}``."""
        ctype = request.headers.get("content-type", "")
        if ctype.lower().startswith("multipart/form-data"):
            folder, paths, _ = await receive_files(request, config.max_upload_bytes, state.upload_root())

            def remove() -> None:
                shutil.rmtree(folder, ignore_errors=True)

            try:
                check_lock()
                job, _ = state.jobs.submit("upload", {"folder": str(folder), "files": [p.name for p in paths],
                                                       "uploader": auth.principal_of(request).key()},
                                           owner=auth.principal_of(request).key(), cleanup=remove)
            except BaseException:
                remove()
                raise
        else:
            try:
                body = IndexRequest.model_validate(await request.json())
            except ValidationError as exc:
                status = 422 if any(e.get("type") in errors.TOO_LONG for e in exc.errors()) else 400
                raise ApiError(status, f"expected JSON {{\"paths\": [...]}} or a multipart upload: {exc}") from exc
            except ValueError as exc:
                raise ApiError(400, f"expected JSON {{\"paths\": [...]}} or a multipart upload: {exc}") from exc
            check_index(body, config)
            targets = [allowed_path(p) for p in body.paths]
            check_lock()
            job, _ = state.jobs.submit(
                "index",
                {"paths": [str(t) for t in targets], "meta": body.meta, "include": body.include,
                 "exclude": body.exclude},
                owner=auth.principal_of(request).key(),
            )
        return JSONResponse(
            {"job_id": job.job_id, "status": job.status, "url": f"/jobs/{job.job_id}"}, status_code=202
        )

    def allowed_path(raw: str) -> Path:
        root = state.config.allowed_root
        if not root:
            raise ApiError(403, "indexing server paths is disabled: set server.allowed_root in the store's config")
        base = Path(root).expanduser().resolve()
        path = Path(raw).expanduser()
        path = (path if path.is_absolute() else base / path).resolve()
        if path != base and base not in path.parents:
            raise ApiError(403, f"{raw}: outside the allowed root {base}")
        if not path.exists():
            raise ApiError(404, f"{raw}: no such file or directory")
        return path

    def check_lock() -> None:
        """409 now rather than a failed job when another process holds the store's write lock (never
        for a job of this server: it queues, see ``JobRunner.check``)."""

        def probe() -> None:
            with kit.store.writer(0):
                pass

        state.jobs.check(probe)

    def sees_job(request: Request, job: Any) -> bool:
        """A job (its paths, results, errors) shows only to who submitted it, or to who reads everything."""
        who = auth.principal_of(request)
        return who.everything or job.owner == who.key()

    @app.get("/jobs")
    def jobs(request: Request) -> list[dict[str, Any]]:
        """Recent write jobs of this token's principal, oldest first."""
        return [j.to_dict() for j in state.jobs.list() if sees_job(request, j)]

    @app.get("/jobs/{job_id}")
    def job(job_id: str, request: Request) -> dict[str, Any]:
        """A job's status (queued | running | done | failed), progress per stage and result."""
        found = state.jobs.get(job_id)
        if found is None or not sees_job(request, found):
            raise ApiError(404, f"no job {job_id!r}")
        return found.to_dict()

    @app.get("/documents", response_model=list[dict[str, Any]])
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

    @app.get("/documents/{doc_id:path}")
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

    @app.delete("/documents/{doc_id:path}")
    async def delete_document(doc_id: str, request: Request) -> dict[str, Any]:
        """Remove a document and its chunks from every index (a write job; the request waits for it)."""
        if not readable(request, doc_id):
            raise ApiError(404, f"no document {doc_id!r}")
        check_lock()
        job, future = state.jobs.submit("delete", {"doc_id": doc_id}, owner=auth.principal_of(request).key())
        try:
            result = await asyncio.wrap_future(future)  # StoreLockedError: 409 (errors.py)
        except KeyError:
            raise ApiError(404, f"no document {doc_id!r}") from None
        return {"deleted": doc_id, "job_id": job.job_id, **result}

    return app
