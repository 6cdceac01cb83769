"""The fuzz target: one input (bytes of a given format) through that format's connector.

The connector module is called directly, not through ``connectors.registry.load``, whose catch-all
turns any exception into a ConnectorError: here anything but a parsed Document or a ConnectorError is
a bug to fix (with a clear message in the connector), so it propagates to the fuzzer.
"""
from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path

from connectors.base import ConnectorError
from ragkit.types import ConnectorOptions, Document

# format -> file suffix of its inputs
SUFFIXES: dict[str, str] = {
    "pdf": ".pdf",
    "html": ".html",
    "markdown": ".md",
    "csv": ".csv",
    "docx": ".docx",
    "xlsx": ".xlsx",
}
# OCR is off: a mutated scan would spend the whole budget in the OCR model, not in the parsers
OPTIONS = ConnectorOptions(ocr_engine="none")


def check_document(doc: Document) -> None:
    """What every parsed Document must hold: blocks inside the text, in order, not empty."""
    assert isinstance(doc, Document), type(doc)
    assert isinstance(doc.text, str)
    previous_end = 0
    for block in doc.blocks:
        assert 0 <= block.start <= block.end <= len(doc.text), (block.start, block.end, len(doc.text))
        assert block.start >= previous_end, "blocks overlap or are out of order"
        previous_end = block.end


def run_file(path: Path, fmt: str) -> str:
    """``parsed`` or ``rejected`` for the file at ``path`` read as ``fmt``; any other exception is
    a connector bug and propagates."""
    module = importlib.import_module(f"connectors.{fmt}")
    try:
        if fmt == "pdf":
            doc = module.load(path, str(path), OPTIONS)
        else:
            doc = module.load(path, str(path))
    except ConnectorError as exc:
        assert str(path) in str(exc), f"error does not name the file: {exc}"
        return "rejected"
    check_document(doc)
    return "parsed"


def run_bytes(data: bytes, fmt: str, folder: str | None = None) -> str:
    """Write ``data`` to a temporary file of ``fmt``'s suffix and run it (see :func:`run_file`)."""
    fd, name = tempfile.mkstemp(suffix=SUFFIXES[fmt], dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return run_file(Path(name), fmt)
    finally:
        os.unlink(name)
