"""Sniffing formats by content and loading any file through the registry."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from connectors import registry
from connectors.base import ConnectorError


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _zip(tmp_path: Path, name: str, members: list[str]) -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        for member in members:
            archive.writestr(member, "<x/>")
    return path


@pytest.mark.parametrize(
    ("name", "data", "fmt"),
    [
        ("a.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "pdf"),
        ("renamed.bin", b"\n\n%PDF-1.4\n\x00\x01binary", "pdf"),
        ("a.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image"),
        ("photo", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image"),
        ("notes.txt", "plain words", "text"),
        ("README", "no extension", "text"),
        ("main.py", "print('hi')\n", "text"),
        ("doc.rst", "Title\n=====\n", "text"),
        ("page.txt", "<!DOCTYPE html><html><body><p>x</p></body></html>", "html"),
        ("page.md", "  <html lang='en'><p>x</p></html>", "html"),
        ("page.htm", "<p>tagged</p>", "html"),
        ("untagged.html", "just words, no tags", "text"),
        ("notes.md", "# Title\n", "markdown"),
        ("notes.MDX", "# Title\n", "markdown"),
        ("t.csv", "a,b\n1,2\n", "csv"),
        ("t.tsv", "a\tb\n", "csv"),
    ],
)
def test_sniff(tmp_path: Path, name: str, data: bytes | str, fmt: str) -> None:
    assert registry.sniff(_write(tmp_path, name, data)) == fmt


def test_sniff_office_zips(tmp_path: Path) -> None:
    docx = _zip(tmp_path, "report.docx", ["[Content_Types].xml", "word/document.xml"])
    assert registry.sniff(docx) == "docx"
    assert registry.sniff(_zip(tmp_path, "renamed.zip", ["xl/workbook.xml"])) == "xlsx"
    with pytest.raises(ConnectorError, match="unsupported file type"):
        registry.sniff(_zip(tmp_path, "plain.zip", ["a.txt"]))


def test_sniff_utf16_text(tmp_path: Path) -> None:
    path = _write(tmp_path, "wide.txt", "wide text\n\nsecond".encode("utf-16"))
    assert registry.sniff(path) == "text"
    assert [b.kind for b in registry.load(path).blocks] == ["text", "text"]


def test_binary_named_txt_is_not_text(tmp_path: Path) -> None:
    path = _write(tmp_path, "fake.txt", b"\x7fELF\x02\x01\x01\x00\x00\x00")
    with pytest.raises(ConnectorError, match=r"binary content \(not text\)") as info:
        registry.sniff(path)
    assert info.value.path == str(path)
    with pytest.raises(ConnectorError, match="binary content"):
        registry.load(path)


def test_unknown_binary_is_unsupported(tmp_path: Path) -> None:
    path = _write(tmp_path, "blob.dat", bytes(range(256)))
    with pytest.raises(ConnectorError, match=r"unsupported file type .*formats: text, markdown, html"):
        registry.sniff(path)


@pytest.mark.parametrize("data", [b"", b"  \n\t\r\n", "\n".encode("utf-16")])
def test_empty_files(tmp_path: Path, data: bytes) -> None:
    path = _write(tmp_path, "empty.txt", data)
    with pytest.raises(ConnectorError, match="empty file"):
        registry.load(path)


def test_load_defaults_source_to_resolved_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "a.md", "# Hi\n\nthere\n")
    monkeypatch.chdir(tmp_path)
    doc = registry.load(Path("a.md"))
    assert doc.source == doc.doc_id == str((tmp_path / "a.md").resolve())
    assert doc.format == "markdown"
    assert registry.load(Path("a.md"), source="custom").source == "custom"


def test_html_named_txt_loads_as_html(tmp_path: Path) -> None:
    path = _write(tmp_path, "saved.txt", "<!doctype html><title>T</title><h1>Head</h1><p>Body</p>")
    doc = registry.load(path)
    assert doc.format == "html"
    assert doc.metadata["title"] == "T"
    assert [b.kind for b in doc.blocks] == ["heading", "text"]


def test_unexpected_errors_are_wrapped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from connectors import text

    def broken(path: Path, source: str) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(text, "load", broken)
    path = _write(tmp_path, "a.txt", "x")
    with pytest.raises(ConnectorError, match="ValueError: boom"):
        registry.load(path)
    with pytest.raises(ConnectorError, match="FileNotFoundError"):
        registry.load(tmp_path / "missing.txt")


def test_missing_connector_module_or_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "a.txt", "x")
    monkeypatch.setitem(registry.FORMATS, "text", "connectors.does_not_exist")
    with pytest.raises(ConnectorError, match="no connector for format 'text'"):
        registry.load(path)

    from connectors import html

    def needs_lxml(path: Path, source: str) -> None:
        raise ModuleNotFoundError("No module named 'lxml'", name="lxml")

    monkeypatch.setattr(html, "load", needs_lxml)
    page = _write(tmp_path, "p.html", "<p>x</p>")
    with pytest.raises(ConnectorError, match=r"optional package 'lxml'.*pip install 'ragkit'"):
        registry.load(page)


def test_every_format_has_a_module_name() -> None:
    assert set(registry.FORMATS) == {"text", "markdown", "html", "pdf", "csv", "xlsx", "docx", "image"}
    assert all(name.startswith("connectors.") for name in registry.FORMATS.values())
