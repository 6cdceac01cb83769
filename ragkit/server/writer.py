"""The server's write operations (index, upload, delete), run by the job thread on the writing Kit.

Each takes the Kit and a ``progress(stage, done, total)`` callback and returns a JSON-able result. Every
one goes through the Kit's one write path (writer lock, integrity pre-check, the executor's parse guard
and ``[limits]``, labels, metadata carry-over): uploads are indexed by ``Kit.index_uploads``, never
parsed here.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ragkit.access import ALL, principal

if TYPE_CHECKING:
    from ragkit.kit import Kit

Progress = Callable[[str, int, "int | None"], None]
Operation = Callable[..., dict[str, Any]]  # (kit, progress, **arguments) -> a JSON-able result
UPLOAD_ROOT = "uploads"  # the source prefix of uploaded documents: uploads/NAMESPACE/NAME


def namespace(key: str) -> str:
    """The folder of a principal's uploads: its access key, escaped into one path segment (``hr``,
    ``hr%2Clegal``), ``@public`` for the public principal and ``@all`` for one reading everything
    (``@`` is never part of a label, so no principal's namespace is another's)."""
    who = principal(key)
    assert who is not None
    if who.everything:
        return "@all"
    return quote(who.key(), safe="") or "@public"


def upload_labels(key: str) -> list[str]:
    """The default labels of what the principal ``key`` uploads: its own labels (none for the public
    principal; a principal reading everything uploads public documents unless rules say otherwise)."""
    who = principal(key)
    assert who is not None
    return sorted(label for label in who.labels if label != ALL)


def index(kit: Kit, progress: Progress, paths: list[str], **options: Any) -> dict[str, Any]:
    """``Kit.index`` of server paths (already checked against ``server.allowed_root``)."""
    return kit.index(paths, progress=progress, **options).to_dict()


def upload(kit: Kit, progress: Progress, folder: str, files: list[str], uploader: str = "") -> dict[str, Any]:
    """Index uploaded files as ``uploads/NAMESPACE/NAME`` (the uploader's namespace, so principals never
    replace each other's files) labelled with the uploader's labels, then remove the temp folder."""
    ns = namespace(uploader)
    sources = [f"{UPLOAD_ROOT}/{ns}/{name}" for name in files]
    try:
        report = kit.index_uploads(
            [(Path(folder) / name, source) for name, source in zip(files, sources)],
            labels=upload_labels(uploader), root=f"{UPLOAD_ROOT}/{ns}", progress=progress,
        ).to_dict()
        failed = {f["path"] for f in report["failed"]}
        return {**report, "documents": [s for s in sources if s not in failed]}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def delete(kit: Kit, progress: Progress, doc_id: str) -> dict[str, Any]:
    """Remove one document and its chunks through the commit protocol; KeyError if it is not stored."""
    kit.delete([doc_id])
    return {"generation": kit.store.generation}


OPERATIONS: dict[str, Operation] = {"index": index, "upload": upload, "delete": delete}
