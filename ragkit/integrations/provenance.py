"""The metadata both adapters attach: where a chunk or document came from, exactly."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragkit.access import Principal, Who, principal as as_principal
from ragkit.types import Document, Hit

if TYPE_CHECKING:
    from ragkit.kit import Kit


def hit_metadata(hit: Hit) -> dict[str, Any]:
    """A hit's provenance: source, document, page, heading, span, chunk id, score and the paths."""
    c = hit.chunk
    return {
        **c.metadata,
        "source": c.source,
        "doc_id": c.doc_id,
        "chunk_id": c.chunk_id,
        "page": c.page,
        "heading": c.heading,
        "heading_path": list(c.heading_path),
        "span": [int(c.span[0]), int(c.span[1])],
        "kind": c.kind,
        "score": float(hit.score),
        "scores": {k: float(v) for k, v in hit.scores.items()},
        "table_id": c.table_id,
        "image_path": c.image_path,
    }


def document_metadata(doc: Document) -> dict[str, Any]:
    """A parsed file's metadata: source, format, content hash, pages, tables and images found."""
    pages = sorted({b.page for b in doc.blocks if b.page is not None})
    return {
        **doc.metadata,
        "source": doc.source,
        "doc_id": doc.doc_id,
        "format": doc.format,
        "content_hash": doc.content_hash,
        "pages": len(pages) or None,
        "tables": sum(1 for b in doc.blocks if b.kind == "table"),
        "images": sum(1 for b in doc.blocks if b.kind == "image"),
    }


def load_documents(
    paths: str | Path | Sequence[str | Path],
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    skip_errors: bool = False,
) -> Iterator[Document]:
    """Parse files and folders with ragkit's connectors (PDF tables, OCR ...), one Document per file.

    An unreadable or unsupported file raises ``ConnectorError`` unless ``skip_errors``.
    """
    from connectors.base import ConnectorError
    from connectors.folder import iter_files
    from connectors.registry import load

    roots = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    for path in iter_files(roots, include=include, exclude=exclude):
        try:
            yield load(path)
        except ConnectorError:
            if not skip_errors:
                raise


def open_kit(kit: Kit | None, path: str | Path | None) -> Kit:
    """The Kit an adapter works on: the one given, else ``ragkit.open(path)``."""
    if kit is not None:
        return kit
    if path is None:
        raise ValueError("pass kit=ragkit.open(...) or path='store directory'")
    import ragkit

    return ragkit.open(path)


def reader(who: Who, adapter: str) -> Principal:
    """The principal an adapter reads as, required: an adapter built without one fails closed here
    rather than reading as the store's owner (AccessError for a bad label)."""
    if who is None:
        raise ValueError(
            f"{adapter} needs a principal: pass principal=\"\" for public documents only, a label list such "
            f"as principal=[\"hr\"], or principal=\"*\" for the store's owner (every document); see docs/access.md"
        )
    found = as_principal(who)
    assert found is not None
    return found
