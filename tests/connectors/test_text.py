"""The plain text connector: decoding, paragraphs and exact spans."""
from __future__ import annotations

from pathlib import Path

import pytest

from connectors import text
from connectors.base import ConnectorError, content_hash
from ragkit.protocols import Connector


def _texts(doc) -> list[str]:
    return [doc.text[b.start : b.end] for b in doc.blocks]


def test_paragraphs_have_exact_spans(tmp_path: Path) -> None:
    data = "First paragraph\nstill first.\r\n\r\n\r\n  Second one.  \r\n \t\nThird\rline\n"
    path = tmp_path / "notes.txt"
    path.write_bytes(data.encode())
    doc = text.load(path, "src")
    assert doc.format == "text"
    assert doc.source == doc.doc_id == "src"
    assert doc.content_hash == content_hash(data.encode())
    assert _texts(doc) == ["First paragraph\nstill first.", "Second one.", "Third\nline"]
    assert all(b.kind == "text" and b.heading_path == [] for b in doc.blocks)
    assert "\r" not in doc.text


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig", "utf-32"])
def test_bom_encodings(tmp_path: Path, encoding: str) -> None:
    body = "Grüße aus Köln\n\nzweiter Absatz — ✓"
    data = body.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path = tmp_path / "u.txt"
    path.write_bytes(data)
    doc = text.load(path, "u")
    assert _texts(doc) == ["Grüße aus Köln", "zweiter Absatz — ✓"]


def test_binary_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "fake.txt"
    path.write_bytes(b"abc\x00\x01\x02def")
    with pytest.raises(ConnectorError, match="binary content"):
        text.load(path, "x")
    path.write_bytes(b"caf\xe9 latin-1")
    with pytest.raises(ConnectorError, match="binary content"):
        text.load(path, "x")


def test_blank_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text(" \n\n\t\n")
    with pytest.raises(ConnectorError, match="empty file") as info:
        text.load(path, "x")
    assert info.value.path == str(path)


def test_partial_decode_allows_cut_character() -> None:
    data = "é".encode() * 3
    assert text.decode_text(data[:-1], "p", partial=True) == "éé"
    with pytest.raises(ConnectorError):
        text.decode_text(data[:-1], "p")


def test_connector_protocol(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("hello")
    connector = text.TextConnector()
    assert isinstance(connector, Connector)
    assert connector.load(path, "a").text == "hello"
