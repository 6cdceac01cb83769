"""Writes, each a background job on the writing Kit (``ragkit.server.jobs``): ``POST /index`` of server
paths under ``server.allowed_root`` (JSON) or of uploaded files (multipart), answered at once with the
job to poll, and ``DELETE /documents/{id}``, which waits for its job."""
from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from ragkit.server import auth, errors
from ragkit.server.errors import ApiError
from ragkit.server.schemas import IndexRequest, check_index
from ragkit.server.state import ServerState
from ragkit.server.uploads import receive_files

INDEX_BODY = {
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
}


def router(state: ServerState) -> APIRouter:
    kit, config = state.kit, state.config
    api = APIRouter()

    def allowed_path(raw: str) -> Path:
        root = config.allowed_root
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

    def readable(request: Request, doc_id: str) -> bool:
        found = kit.store.doc_state(doc_id)
        return found is not None and auth.principal_of(request).can_read(found[1])

    @api.post("/index", status_code=202, openapi_extra=INDEX_BODY)
    async def index(request: Request) -> JSONResponse:
        """Index server paths under ``server.allowed_root`` (JSON) or uploaded files (multipart) in the
        background; returns a job id to poll at ``/jobs/{id}``."""
        owner = auth.principal_of(request).key()
        ctype = request.headers.get("content-type", "")
        if ctype.lower().startswith("multipart/form-data"):
            folder, paths, _ = await receive_files(request, config.max_upload_bytes, state.upload_root())

            def remove() -> None:
                shutil.rmtree(folder, ignore_errors=True)

            try:
                check_lock()
                job, _ = state.jobs.submit("upload", {"folder": str(folder), "files": [p.name for p in paths],
                                                       "uploader": owner}, owner=owner, cleanup=remove)
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
                owner=owner,
            )
        return JSONResponse(
            {"job_id": job.job_id, "status": job.status, "url": f"/jobs/{job.job_id}"}, status_code=202
        )

    @api.delete("/documents/{doc_id:path}")
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

    return api
