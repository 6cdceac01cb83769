"""The server's write operations (index, upload, delete), run by the job thread on the writing Kit.

Each takes the Kit and a ``progress(stage, done, total)`` callback and returns a JSON-able result.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Callable

Progress = Callable[[str, int, "int | None"], None]
UPLOAD_ROOT = "uploads"  # the source prefix of uploaded documents


def index(kit: Any, progress: Progress, paths: list[str], **options: Any) -> dict[str, Any]:
    """``Kit.index`` of server paths (already checked against ``server.allowed_root``)."""
    return kit.index(paths, progress=progress, **options).to_dict()


def upload(kit: Any, progress: Progress, folder: str, files: list[str]) -> dict[str, Any]:
    """Parse uploaded files with the connectors, store them as ``uploads/NAME``, remove the temp folder."""
    from connectors.base import ConnectorError
    from connectors.registry import load

    try:
        docs, failed = [], []
        for i, name in enumerate(files):
            progress("parse", i, len(files))
            try:
                docs.append(load(Path(folder) / name, f"{UPLOAD_ROOT}/{name}", kit.connector_options()))
            except ConnectorError as exc:
                failed.append({"path": name, "error": str(exc).replace(folder + os.sep, "")})
        progress("parse", len(files), len(files))
        report = kit.add_documents(docs, root=UPLOAD_ROOT, progress=progress).to_dict()
        return {**report, "failed": failed, "documents": [d.doc_id for d in docs]}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def delete(kit: Any, progress: Progress, doc_id: str) -> dict[str, Any]:
    """Remove one document and its chunks through the commit protocol; KeyError if it is not stored."""
    kit.delete([doc_id])
    return {"generation": kit.store.generation}


OPERATIONS: dict[str, Callable[..., dict[str, Any]]] = {"index": index, "upload": upload, "delete": delete}
