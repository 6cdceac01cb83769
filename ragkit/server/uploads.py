"""Request bodies with a size limit enforced while they stream in (413 before they are all read):
:class:`BodyLimit` bounds every body (``server.max_body_bytes``; multipart uploads
``server.max_upload_bytes``), :func:`receive_files` saves an upload's files under a folder the server
owns (removed when it closes)."""
from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import AsyncGenerator
from pathlib import Path

from fastapi import Request
from starlette.datastructures import Headers, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartParser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragkit.server.errors import ApiError, error_response

PART_OVERHEAD = 64 * 1024  # multipart boundaries and part headers on top of the files themselves
CHUNK = 1024 * 1024


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"upload larger than the limit of {limit} bytes (server.max_upload_bytes)")


def _body_too_large(limit: int) -> ApiError:
    return ApiError(413, f"request body larger than the limit of {limit} bytes (server.max_body_bytes)")


class BodyLimit:
    """ASGI middleware: 413 for a body over its limit, from ``Content-Length`` before reading, else as
    soon as the bytes received pass it (so chunked bodies are bounded too). Multipart uploads are
    bounded by ``upload_limit`` (their files; :func:`receive_files` counts those exactly), every other
    body by ``body_limit``."""

    def __init__(self, app: ASGIApp, body_limit: int, upload_limit: int):
        self.app = app
        self.body_limit = body_limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if headers.get("content-type", "").lower().startswith("multipart/form-data"):
            limit, error = self.upload_limit + PART_OVERHEAD, _too_large(self.upload_limit)
        else:
            limit, error = self.body_limit, _body_too_large(self.body_limit)
        length = headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > limit:
            await error_response(error.status, error.message, {"Connection": "close"})(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # raised into whatever reads the body: FastAPI answers it (errors.py)
                    raise HTTPException(error.status, error.message)
            return message

        await self.app(scope, limited, send)


async def _limited(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit + PART_OVERHEAD:
            raise _too_large(limit)
        yield chunk


def safe_name(name: str) -> str:
    """A file name without folders or odd characters (``../../x.pdf`` → ``x.pdf``)."""
    base = Path(name.replace("\\", "/")).name
    return re.sub(r"[^\w.\- ]+", "_", base).strip(" .") or "upload"


async def receive_files(request: Request, limit: int, root: Path | None = None) -> tuple[Path, list[Path], dict[str, str]]:
    """Save the request's uploaded files to a new folder ``ragkit-upload-*`` under ``root`` (default:
    the temp folder); returns it, the files and the form's other fields. Raises 413 over ``limit``
    bytes in all, 400 without a file."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit + PART_OVERHEAD:
        raise _too_large(limit)
    parser = MultiPartParser(request.headers, _limited(request, limit), max_files=100, max_fields=100)
    form = await parser.parse()
    folder = Path(tempfile.mkdtemp(prefix="ragkit-upload-", dir=root))
    files: list[Path] = []
    fields: dict[str, str] = {}
    total = 0
    try:
        for key, value in form.multi_items():
            if not isinstance(value, UploadFile):
                fields[key] = str(value)
                continue
            target = folder / safe_name(value.filename or key)
            n = 1
            while target in files:
                target = target.with_name(f"{target.stem}-{n}{target.suffix}")
                n += 1
            with target.open("wb") as out:
                while chunk := await value.read(CHUNK):
                    total += len(chunk)
                    if total > limit:
                        raise _too_large(limit)
                    out.write(chunk)
            files.append(target)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        await form.close()
    if not files:
        shutil.rmtree(folder, ignore_errors=True)
        raise ApiError(400, "no file in the upload (multipart field 'files')")
    return folder, files, fields
