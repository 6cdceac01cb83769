"""Plain text files: decoded from UTF-8 (or a UTF-16/32 BOM), one text block per paragraph."""
from __future__ import annotations

import codecs
import re
from pathlib import Path

from connectors.base import ConnectorError, DocumentBuilder, read_bytes
from ragkit.types import Document

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: both start with FF FE
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_BLANK_LINE = re.compile(r"\n[ \t\f\v]*\n")


def encoding_of(data: bytes) -> str:
    """The codec to decode ``data`` with: the one its BOM names, else UTF-8."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec
    return "utf-8"


def decode_text(data: bytes, path: str | Path, *, partial: bool = False) -> str:
    """Decode text bytes with line endings normalized to ``\\n``; binary content raises ConnectorError.

    With ``partial`` the bytes are a file's head, so a multi-byte character cut at the end is fine.
    """
    codec = encoding_of(data)
    try:
        text = codecs.getincrementaldecoder(codec)().decode(data, final=not partial)
    except UnicodeDecodeError as e:
        reason = f"binary content (not text): not valid {codec} at byte {e.start}"
        raise ConnectorError(path, reason) from None
    if "\x00" in text:
        raise ConnectorError(path, "binary content (not text): contains NUL bytes")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def paragraphs(text: str) -> list[str]:
    """Split text on blank lines."""
    return [p for p in _BLANK_LINE.split(text) if p.strip()]


def load(path: Path, source: str) -> Document:
    """Read a text file as a Document whose blocks are its paragraphs."""
    data = read_bytes(path)
    text = decode_text(data, path)
    builder = DocumentBuilder()
    for paragraph in paragraphs(text):
        builder.add(paragraph, "text")
    if not builder.blocks:
        raise ConnectorError(path, "empty file")
    return builder.build(source=source, data=data, format="text")


class TextConnector:
    """The ``Connector`` for plain text."""

    name = "text"
    formats: tuple[str, ...] = ("text",)

    def load(self, path: Path, source: str) -> Document:
        return load(path, source)
