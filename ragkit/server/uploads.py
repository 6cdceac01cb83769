"""Multipart uploads with a size limit enforced while the body streams in (413 before it is all read)."""
from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartParser

from ragkit.server.errors import ApiError

PART_OVERHEAD = 64 * 1024  # multipart boundaries and part headers on top of the files themselves
CHUNK = 1024 * 1024


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"upload larger than the limit of {limit} bytes (server.max_upload_bytes)")


async def _limited(request: Request, limit: int) -> AsyncIterator[bytes]:
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


async def receive_files(request: Request, limit: int) -> tuple[Path, list[Path], dict[str, str]]:
    """Save the request's uploaded files to a new temporary folder; returns it, the files and the
    form's other fields. Raises 413 over ``limit`` bytes in all, 400 without a file."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit + PART_OVERHEAD:
        raise _too_large(limit)
    parser = MultiPartParser(request.headers, _limited(request, limit), max_files=100, max_fields=100)
    form = await parser.parse()
    folder = Path(tempfile.mkdtemp(prefix="ragkit-upload-"))
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
