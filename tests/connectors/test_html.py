"""The HTML connector: main content, heading paths, tables, links, title, entities and whitespace."""
from __future__ import annotations

from pathlib import Path

import pytest

from connectors import html
from connectors.base import ConnectorError

PAGE = """<!DOCTYPE html>
<html><head><title>  The   Guide </title><style>p { color: red }</style>
<script>var notText = 1;</script></head>
<body>
<header><h1>Site name</h1><nav><a href="/">Home</a> <a href="/about">About</a></nav></header>
<aside>Sidebar ads</aside>
<main>
  <h1>Guide &amp; Tips</h1>
  <p>Read   the <a href="https://example.com/docs">full
     docs</a>&nbsp;first.<br>Then continue.</p>
  <!-- hidden comment -->
  <h2>Install</h2>
  <ul><li>Download<ul><li>Check the hash</li></ul></li><li>Run it</li></ul>
  <pre>  def f():
      return 1</pre>
  <h3>Prices</h3>
  <table>
    <caption>Plans</caption>
    <thead><tr><th>Plan</th><th>Cost</th></tr></thead>
    <tbody>
      <tr><td>Free</td><td>0 &euro;</td></tr>
      <tr><td colspan="2">Contact us</td></tr>
    </tbody>
  </table>
  Loose text <noscript>enable js</noscript>after table.
  <h2>FAQ</h2>
  <dl><dt>Why?</dt><dd>Because.</dd></dl>
  <blockquote>Quoted wisdom.</blockquote>
</main>
<footer>Copyright</footer>
</body></html>
"""


def _load(tmp_path: Path, body: str | bytes, name: str = "page.html"):
    path = tmp_path / name
    if isinstance(body, str):
        body = body.encode("utf-8")
    path.write_bytes(body)
    return html.load(path, "site/page.html")


def test_main_content_blocks(tmp_path: Path) -> None:
    doc = _load(tmp_path, PAGE)
    assert doc.format == "html"
    got = [(b.kind, doc.text[b.start : b.end], b.heading_path) for b in doc.blocks]
    guide = ["Guide & Tips"]
    install, prices, faq = [*guide, "Install"], [*guide, "Install", "Prices"], [*guide, "FAQ"]
    assert got == [
        ("heading", "Guide & Tips", guide),
        ("text", "Read the full docs first.\nThen continue.", guide),
        ("heading", "Install", install),
        ("text", "Download", install),
        ("text", "Check the hash", install),
        ("text", "Run it", install),
        ("text", "def f():\n      return 1", install),
        ("heading", "Prices", prices),
        ("table", "| Plan | Cost |\n| Free | 0 € |\n| Contact us |  |", prices),
        ("text", "Loose text after table.", prices),
        ("heading", "FAQ", faq),
        ("text", "Why?", faq),
        ("text", "Because.", faq),
        ("text", "Quoted wisdom.", faq),
    ]
    for dropped in ("Site name", "Home", "Sidebar", "Copyright", "notText", "color", "enable js", "comment"):
        assert dropped not in doc.text


def test_table_structure(tmp_path: Path) -> None:
    doc = _load(tmp_path, PAGE)
    (block,) = [b for b in doc.blocks if b.kind == "table"]
    assert block.table is not None
    assert block.table.table_id == "site/page.html#t1"
    assert block.table.rows == [["Plan", "Cost"], ["Free", "0 €"], ["Contact us", ""]]
    assert block.table.header_rows == 1
    assert block.table.caption == "Plans"
    assert len(doc.text[block.start : block.end].split("\n")) == len(block.table.rows)  # a line per row


def test_header_rows_from_th_without_thead(tmp_path: Path) -> None:
    body = (
        "<html><body><table><tr><th>A</th><th>B</th></tr><tr><th>a</th><th>b</th></tr>"
        "<tr><th>row</th><td>1</td></tr><tr><td>x</td><td><table><tr><td>inner</td></tr></table></td></tr>"
        "</table></body></html>"
    )
    doc = _load(tmp_path, body)
    table = doc.blocks[0].table
    assert table is not None
    assert table.header_rows == 2
    assert table.rows == [["A", "B"], ["a", "b"], ["row", "1"], ["x", "inner"]]


def test_title_and_links_metadata(tmp_path: Path) -> None:
    doc = _load(tmp_path, PAGE)
    assert doc.metadata["title"] == "The Guide"
    assert doc.metadata["links"] == [{"text": "full docs", "href": "https://example.com/docs"}]


def test_articles_and_their_headers(tmp_path: Path) -> None:
    body = (
        "<html><body><header><h1>Blog</h1></header>"
        "<article><header><h2>Post one</h2></header><p>First.</p></article>"
        "<div>sidebar text</div>"
        "<article><h2>Post two</h2><p>Second.</p><footer>by me</footer></article></body></html>"
    )
    doc = _load(tmp_path, body)
    texts = [doc.text[b.start : b.end] for b in doc.blocks]
    assert texts == ["Post one", "First.", "Post two", "Second.", "by me"]
    assert doc.blocks[3].heading_path == ["Post two"]


def test_body_without_main_and_legacy_charset(tmp_path: Path) -> None:
    body = '<html><head><meta charset="iso-8859-1"></head><body><p>Caf\xe9 cr\xe8me</p></body></html>'
    doc = _load(tmp_path, body.encode("latin-1"))
    assert doc.text == "Café crème"


def test_xhtml_declaration_and_utf16(tmp_path: Path) -> None:
    body = '<?xml version="1.0" encoding="utf-16"?><html><body><p>Ünïcode</p></body></html>'
    doc = _load(tmp_path, body.encode("utf-16"))
    assert doc.text == "Ünïcode"


def test_no_text_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match="no text content"):
        _load(tmp_path, "<html><body><script>x()</script><nav>menu</nav></body></html>")
