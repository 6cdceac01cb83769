"""What every connector shares: the error it raises and a builder for text with structure blocks."""
from __future__ import annotations

import hashlib
from pathlib import Path

from ragkit.types import Block, Document, Table


class ConnectorError(Exception):
    """A file could not be turned into a Document; the message names the file and the problem."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")

    def __reduce__(self) -> tuple:
        # pickled as (path, reason), so it crosses the parse worker's pipe intact
        return (type(self), (self.path, self.reason))


# Office documents in the legacy OLE2 container: .doc/.xls, and password-protected .docx/.xlsx.
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_bytes(path: Path) -> bytes:
    """The file's bytes, or a ConnectorError naming the file and why it can't be read."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConnectorError(path, f"cannot read file: {exc.strerror or exc}") from exc


def round_bbox(bbox: tuple[float, float, float, float], digits: int) -> tuple[float, float, float, float]:
    """A box ``(x0, top, x1, bottom)`` with each coordinate rounded to ``digits`` decimals."""
    x0, top, x1, bottom = bbox
    return (round(x0, digits), round(top, digits), round(x1, digits), round(bottom, digits))


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DocumentBuilder:
    """Accumulates a document's text block by block so that every block knows its exact span."""

    def __init__(self, separator: str = "\n\n"):
        self.separator = separator
        self.parts: list[str] = []
        self.blocks: list[Block] = []
        self.length = 0

    def add(
        self,
        text: str,
        kind: str = "text",
        *,
        page: int | None = None,
        heading_path: list[str] | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        table: Table | None = None,
        image_path: str | None = None,
    ) -> Block | None:
        """Append ``text`` as one block; blank text is skipped. Returns the block."""
        text = text.strip()
        if not text:
            return None
        if self.parts:
            self.parts.append(self.separator)
            self.length += len(self.separator)
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        block = Block(
            kind=kind,
            start=start,
            end=self.length,
            page=page,
            heading_path=list(heading_path or []),
            bbox=bbox,
            table=table,
            image_path=image_path,
        )
        self.blocks.append(block)
        return block

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def build(self, *, source: str, data: bytes, format: str, metadata: dict | None = None) -> Document:
        return Document(
            doc_id=source,
            source=source,
            text=self.text,
            content_hash=content_hash(data),
            format=format,
            blocks=self.blocks,
            metadata=dict(metadata or {}),
        )
