"""Which connector reads a file: sniffed from its content first, its extension second."""
from __future__ import annotations

import importlib
import inspect
import re
import zipfile
from pathlib import Path
from types import ModuleType

from connectors.base import ConnectorError
from connectors.text import decode_text
from ragkit.types import ConnectorOptions, Document

FORMATS: dict[str, str] = {
    "text": "connectors.text",
    "markdown": "connectors.markdown",
    "html": "connectors.html",
    "pdf": "connectors.pdf",
    "csv": "connectors.csv",
    "xlsx": "connectors.xlsx",
    "docx": "connectors.docx",
    "image": "connectors.image",
}
# The pip extra (``pip install 'ragkit[EXTRA]'``) that brings the optional packages of a format.
# Formats not listed here need only ragkit's core dependencies.
EXTRAS: dict[str, str] = {"image": "ocr"}

HEAD_BYTES = 64 * 1024
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image"),
    (b"\xff\xd8\xff", "image"),
)
_TEXT_SUFFIXES: dict[str, str] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
    ".csv": "csv",
    ".tsv": "csv",
}
_HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
# Names that promise text: binary content under one of these (or _TEXT_SUFFIXES) is reported as such.
_TEXTUAL_NAMES = _HTML_SUFFIXES | {".txt", ".text", ".rst", ".log", ".json", ".xml", ".yml", ".yaml"}
_HTML_START = re.compile(
    r"\A\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(r"<(?:[A-Za-z][A-Za-z0-9]*(?:\s[^>]*)?/?>|!--)")


def _unsupported(path: Path, detail: str) -> ConnectorError:
    return ConnectorError(path, f"unsupported file type ({detail}); supported formats: {', '.join(FORMATS)}")


def _zip_format(path: Path) -> str | None:
    """``docx`` or ``xlsx`` for an Office Open XML zip, else None."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return None
    if any(name.startswith("word/") for name in names):
        return "docx"
    if any(name.startswith("xl/") for name in names):
        return "xlsx"
    return None


def sniff(path: Path) -> str:
    """The format name (a key of ``FORMATS``) of the file at ``path``; ConnectorError if none fits."""
    path = Path(path)
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
        complete = not f.read(1)
    suffix = path.suffix.lower()
    if not head:
        raise ConnectorError(path, "empty file")
    if b"%PDF-" in head[:1024]:
        return "pdf"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head.startswith(b"PK\x03\x04"):
        office = _zip_format(path)
        if office:
            return office
        raise _unsupported(path, f"zip archive {suffix or 'without extension'}")
    try:
        text = decode_text(head, path, partial=not complete)
    except ConnectorError:
        lossy = head[:4096].decode("latin-1")
        if b"\x00" not in head and _HTML_START.match(lossy):
            return "html"  # HTML in a legacy charset: the html connector reads its <meta charset>
        if suffix in _TEXTUAL_NAMES or suffix in _TEXT_SUFFIXES:
            raise ConnectorError(path, f"binary content (not text) in a {suffix} file") from None
        raise _unsupported(path, f"binary {suffix or 'extensionless'} file") from None
    if complete and not text.strip():
        raise ConnectorError(path, "empty file")
    if _HTML_START.match(text[:4096]) or (suffix in _HTML_SUFFIXES and _TAG.search(text)):
        return "html"
    return _TEXT_SUFFIXES.get(suffix, "text")


def _missing(fmt: str, error: ImportError) -> str:
    """What to install when a connector lacks an optional package."""
    what = f"the optional package {error.name!r}" if error.name else f"an optional package ({error})"
    package = f"ragkit[{EXTRAS[fmt]}]" if fmt in EXTRAS else "ragkit"
    return f"format {fmt!r} needs {what}; install it with: pip install '{package}'"


def _connector(path: Path, fmt: str) -> ModuleType:
    """Import the connector module of ``fmt``."""
    name = FORMATS[fmt]
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name == name:
            raise ConnectorError(path, f"no connector for format {fmt!r} (module {name} not found)") from e
        raise ConnectorError(path, _missing(fmt, e)) from e
    except ImportError as e:
        raise ConnectorError(path, _missing(fmt, e)) from e


def load(path: Path, source: str | None = None, options: ConnectorOptions | None = None) -> Document:
    """Read any supported file into a Document; every failure is a ConnectorError naming the file.

    ``source`` (the Document's id) defaults to the file's resolved absolute path; ``options`` reach
    the connectors that take them (OCR settings, where page images are kept).
    """
    path = Path(path)
    fmt = ""
    try:
        fmt = sniff(path)
        module = _connector(path, fmt)
        source = source if source is not None else str(path.resolve())
        if options is not None and "options" in inspect.signature(module.load).parameters:
            document: Document = module.load(path, source, options)
        else:
            document = module.load(path, source)
        return document
    except ConnectorError:
        raise
    except ImportError as e:  # a connector importing an optional package lazily
        raise ConnectorError(path, _missing(fmt, e)) from e
    except Exception as e:
        raise ConnectorError(path, f"{type(e).__name__}: {e}") from e
