"""Size limits on what one file may bring into an ingest, each failure a ConnectorError naming the file.

The limits come from the store's ``[limits]`` config through :class:`ragkit.types.ConnectorOptions`;
0 turns one off. File size is checked before the file is read, pages by the PDF connector before its
pages are read, characters after parsing (in the parse worker) and chunks after chunking (indexer).
"""
from __future__ import annotations

import os
from pathlib import Path

from connectors.base import ConnectorError
from ragkit.types import ConnectorOptions, Document

MB = 1024 * 1024


class LimitExceeded(ConnectorError):
    """A file is over one of the ``[limits]``; the message says which, by how much, and its key."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(path, reason)


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def _exceeded(path: str | Path, what: str, value: float, limit: float, key: str) -> LimitExceeded:
    return LimitExceeded(
        path, f"{what} {_number(value)} is over the limit of {_number(limit)} (limits.{key} in the config)"
    )


def check_file_size(path: str | Path, options: ConnectorOptions) -> int:
    """The file's size in bytes; LimitExceeded when over ``max_file_mb``, ConnectorError if unreadable."""
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise ConnectorError(path, f"cannot read file: {exc.strerror or exc}") from exc
    if options.max_file_mb and size > options.max_file_mb * MB:
        raise _exceeded(path, "file size (MB)", round(size / MB, 1), options.max_file_mb, "max_file_mb")
    return size


def read_file(path: str | Path, options: ConnectorOptions) -> bytes:
    """The file's bytes, after the size check (a huge file is never read into memory)."""
    check_file_size(path, options)
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise ConnectorError(path, f"cannot read file: {exc.strerror or exc}") from exc


def check_pages(path: str | Path, pages: int, options: ConnectorOptions) -> None:
    if options.max_pages and pages > options.max_pages:
        raise _exceeded(path, "page count", pages, options.max_pages, "max_pages")


def check_document(path: str | Path, doc: Document, options: ConnectorOptions) -> None:
    if options.max_chars and len(doc.text) > options.max_chars:
        raise _exceeded(path, "characters", len(doc.text), options.max_chars, "max_chars")


def check_chunks(path: str | Path, chunks: int, options: ConnectorOptions) -> None:
    if options.max_chunks and chunks > options.max_chunks:
        raise _exceeded(path, "chunk count", chunks, options.max_chunks, "max_chunks")
