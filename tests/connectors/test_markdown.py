"""The Markdown connector: headings, faithful block text, pipe tables, front matter."""
from __future__ import annotations

from pathlib import Path

import pytest

from connectors import markdown
from connectors.base import ConnectorError

SAMPLE = """---
title: "Release notes"
version: 2.1
authors:
  - ann
summary: |
  long text
---
Intro with *emphasis*
on two lines.

# Install

Run `pip install ragkit`.

## From source

| Step | Command |
|------|---------|
| clone | `git clone x` |
| **build** | make |

- one
- two
  - nested

Usage
=====

> quoted
> text

```python
print("hi")
```

<!-- a comment -->

---

Closing words.
"""


def _load(tmp_path: Path, body: str, name: str = "doc.md"):
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return markdown.load(path, "docs/doc.md")


def test_blocks_keep_source_text_and_heading_paths(tmp_path: Path) -> None:
    doc = _load(tmp_path, SAMPLE)
    assert doc.format == "markdown"
    got = [(b.kind, doc.text[b.start : b.end], b.heading_path) for b in doc.blocks]
    assert got == [
        ("text", "Intro with *emphasis*\non two lines.", []),
        ("heading", "Install", ["Install"]),
        ("text", "Run `pip install ragkit`.", ["Install"]),
        ("heading", "From source", ["Install", "From source"]),
        (
            "table",
            "| Step | Command |\n| clone | `git clone x` |\n| **build** | make |",
            ["Install", "From source"],
        ),
        ("text", "- one\n- two\n  - nested", ["Install", "From source"]),
        ("heading", "Usage", ["Usage"]),
        ("text", "> quoted\n> text", ["Usage"]),
        ("text", '```python\nprint("hi")\n```', ["Usage"]),
        ("text", "Closing words.", ["Usage"]),
    ]


def test_table_rows(tmp_path: Path) -> None:
    doc = _load(tmp_path, SAMPLE)
    (table_block,) = [b for b in doc.blocks if b.kind == "table"]
    table = table_block.table
    assert table is not None
    assert table.table_id == "docs/doc.md#t1"
    assert table.header_rows == 1
    assert table.rows == [["Step", "Command"], ["clone", "git clone x"], ["build", "make"]]
    assert len(doc.text[table_block.start : table_block.end].split("\n")) == len(table.rows)  # a line per row


def test_front_matter_to_metadata_not_text(tmp_path: Path) -> None:
    doc = _load(tmp_path, SAMPLE)
    assert doc.metadata == {"title": "Release notes", "version": "2.1"}
    assert "Release notes" not in doc.text and "authors" not in doc.text


def test_rule_then_text_is_not_front_matter(tmp_path: Path) -> None:
    doc = _load(tmp_path, "---\nJust prose here\n---\n\nMore.\n")
    assert doc.metadata == {}
    assert doc.blocks[0].kind == "heading"
    assert doc.text.startswith("Just prose here")


def test_heading_markup_is_plain_in_path(tmp_path: Path) -> None:
    doc = _load(tmp_path, "# The `ragkit` [guide](http://x)\n\ntext\n\n### Deep **one**\n\nmore\n")
    assert doc.blocks[1].heading_path == ["The ragkit guide"]
    assert doc.blocks[-1].heading_path == ["The ragkit guide", "Deep one"]


def test_crlf_and_spans(tmp_path: Path) -> None:
    path = tmp_path / "w.md"
    path.write_bytes(b"# T\r\n\r\npara one\r\nline\r\n\r\npara two\r\n")
    doc = markdown.load(path, "w")
    assert [doc.text[b.start : b.end] for b in doc.blocks] == ["T", "para one\nline", "para two"]


def test_only_front_matter_has_no_text(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match="no text"):
        _load(tmp_path, "---\ntitle: x\n---\n")


def test_links_keep_href_anchor_and_span(tmp_path: Path) -> None:
    body = ("# Guide\n\nRead the [install notes](install.md#linux) first, then\nthe [API *reference*](<api ref.md> 'title').\n\n"
            "- see [the site](https://example.org/x) or [notes][n]\n\n![logo](logo.png)\n\n[n]: notes.md\n")
    doc = _load(tmp_path, body)
    links = doc.metadata["links"]
    assert [(link["href"], link["text"]) for link in links] == [
        ("install.md#linux", "install notes"), ("api%20ref.md", "API reference"),
        ("https://example.org/x", "the site"), ("notes.md", "notes")]
    spans = [doc.text[link["start"] : link["end"]] for link in links]
    assert spans == ["[install notes](install.md#linux)", "[API *reference*](<api ref.md> 'title')",
                     "[the site](https://example.org/x)",
                     "notes"]  # a reference link's span is its anchor text; an image is no link


def test_no_links_no_links_key(tmp_path: Path) -> None:
    assert "links" not in _load(tmp_path, "# Title\n\nplain text\n").metadata
