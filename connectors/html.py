"""HTML files: the main content's headings, paragraphs and tables; title and links go to metadata."""
from __future__ import annotations

import codecs
import contextlib
import re
from pathlib import Path
from typing import Any

from connectors.base import ConnectorError, DocumentBuilder, read_bytes
from connectors.text import decode_text
from ragkit.types import Document, Table

DROP = frozenset({"script", "style", "nav", "aside", "noscript", "template", "head"})
CHROME = frozenset({"header", "footer"})  # dropped unless inside <main>/<article> (an article's own header)
HEADINGS = {f"h{n}": n for n in range(1, 7)}
BLOCKS = frozenset(
    {
        *("address", "article", "blockquote", "body", "caption", "dd", "details", "dialog", "div", "dl"),
        *("dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hr", "legend", "li"),
        *("main", "ol", "p", "pre", "section", "summary", "ul"),
    }
)
_SPACE = re.compile(r"\s+")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")
# Characters XML (so lxml's tree) can't hold: C0 controls but tab/newline/CR, and the non-characters
# U+FFFE/U+FFFF. The HTML parser keeps them from a broken page, and editing the tree then raises.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def collapse(text: str) -> str:
    """Whitespace runs to one space, ends trimmed."""
    return _SPACE.sub(" ", text).strip()


def decode_html(data: bytes, path: str | Path) -> str:
    """Decode HTML bytes: a BOM or UTF-8 first, else the ``<meta charset>``, else Windows-1252."""
    try:
        return decode_text(data, path)
    except ConnectorError:
        pass
    match = _META_CHARSET.search(data[:4096])
    codec = "cp1252"
    if match:
        with contextlib.suppress(LookupError):
            codec = codecs.lookup(match.group(1).decode("ascii")).name
    return data.decode(codec, errors="replace").replace("\r\n", "\n").replace("\r", "\n")


def _parse(text: str) -> Any:
    try:
        import lxml.etree
        import lxml.html
    except ImportError as e:
        raise ImportError("html needs the package 'lxml' (pip install lxml)", name="lxml") from e
    text = _XML_DECLARATION.sub("", text)  # lxml refuses str input that declares an encoding
    text = _NOT_XML.sub("", text)
    if not text.strip():
        return None
    try:
        return lxml.html.document_fromstring(text)
    except lxml.etree.ParserError:  # "Document is empty": only a doctype, comments or broken tags
        return None


def _is_element(node: Any) -> bool:
    """Elements, not comments or processing instructions (whose ``tag`` is a function)."""
    return isinstance(node.tag, str)


def _content_roots(root: Any) -> list[Any]:
    """``<main>``, else the outermost ``<article>`` elements, else ``<body>``."""
    mains: list[Any] = root.xpath("//main")
    if mains:
        return mains[:1]
    articles: list[Any] = root.xpath("//article[not(ancestor::article)]")
    if articles:
        return articles
    body = root.find("body")
    return [body if body is not None else root]


def _strip_boilerplate(root: Any) -> None:
    """Remove comments, scripts, navigation and page chrome in place (their tail text stays)."""
    for node in list(root.iter()):
        if node.getparent() is None:
            continue
        chrome = node.tag in CHROME and not any(a.tag in ("main", "article") for a in node.iterancestors())
        if not _is_element(node) or node.tag in DROP or chrome:
            node.drop_tree()


def _table(element: Any, table_id: str) -> Table:
    """Rows of cell texts (a colspan adds empty cells); leading ``<thead>``/all-``<th>`` rows are headers."""
    rows: list[list[str]] = []
    header_rows = 0
    counting = True
    for tr in _own_rows(element):
        cells = [c for c in tr if _is_element(c) and c.tag in ("th", "td")]
        if not cells:
            continue
        row: list[str] = []
        for cell in cells:
            row.append(collapse(cell.text_content()))
            span = cell.get("colspan", "").strip()
            extra = min(int(span), 100) - 1 if span.isdigit() else 0
            row.extend([""] * max(extra, 0))
        is_header = tr.getparent().tag == "thead" or all(c.tag == "th" for c in cells)
        if counting and is_header:
            header_rows += 1
        else:
            counting = False
        rows.append(row)
    caption = element.find("caption")
    return Table(
        table_id=table_id,
        rows=rows,
        header_rows=header_rows,
        caption=collapse(caption.text_content()) if caption is not None else "",
    )


def _own_rows(table: Any) -> list[Any]:
    """The ``<tr>`` of this table, not of tables nested in its cells."""
    rows: list[Any] = []
    for child in table:
        if not _is_element(child):
            continue
        if child.tag == "tr":
            rows.append(child)
        elif child.tag in ("thead", "tbody", "tfoot"):
            rows.extend(c for c in child if _is_element(c) and c.tag == "tr")
    return rows


def render_table(rows: list[list[str]]) -> str:
    """One Markdown-style ``| a | b |`` line per row (the chunker maps rows to lines)."""
    width = max((len(r) for r in rows), default=0)
    lines = []
    for row in rows:
        cells = [c.replace("|", "\\|") for c in row] + [""] * (width - len(row))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


class _Walker:
    """Walks content in document order: a block per heading, paragraph-like element or table."""

    def __init__(self, builder: DocumentBuilder, source: str):
        self.builder = builder
        self.source = source
        self.pending: list[str] = []
        self.headings: list[tuple[int, str]] = []
        self.tables = 0

    def path(self) -> list[str]:
        return [title for _, title in self.headings]

    def flush(self) -> None:
        """Emit the inline text gathered so far as a text block (``<br>`` kept as a line break)."""
        text = "".join(self.pending)
        self.pending = []
        lines = [collapse(line) for line in text.split("\n")]
        self.builder.add("\n".join(line for line in lines if line), "text", heading_path=self.path())

    def inline(self, text: str | None) -> None:
        if text:
            self.pending.append(_SPACE.sub(" ", text))

    def walk(self, element: Any) -> None:
        tag = element.tag
        if tag in HEADINGS:
            self.flush()
            title = collapse(element.text_content())
            if title:
                level = HEADINGS[tag]
                self.headings = [h for h in self.headings if h[0] < level] + [(level, title)]
                self.builder.add(title, "heading", heading_path=self.path())
        elif tag == "table":
            self.flush()
            self.tables += 1
            table = _table(element, f"{self.source}#t{self.tables}")
            if table.rows:
                text = render_table(table.rows)
                self.builder.add(text, "table", heading_path=self.path(), table=table)
        elif tag == "pre":
            self.flush()
            self.builder.add(element.text_content(), "text", heading_path=self.path())
        elif tag == "br":
            self.pending.append("\n")
        else:
            block = tag in BLOCKS
            if block:
                self.flush()
            self.inline(element.text)
            for child in element:
                if _is_element(child):
                    self.walk(child)
                self.inline(child.tail)
            if block:
                self.flush()


def _links(roots: list[Any]) -> list[dict[str, str]]:
    """``{"text", "href"}`` of each distinct link in the content, in document order."""
    links: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for root in roots:
        for a in root.iter("a"):
            href = (a.get("href") or "").strip()
            text = collapse(a.text_content())
            if not href or href.lower().startswith("javascript:") or (text, href) in seen:
                continue
            seen.add((text, href))
            links.append({"text": text, "href": href})
    return links


def load(path: Path, source: str) -> Document:
    """Read an HTML file as heading, text and table blocks of its main content."""
    data = read_bytes(path)
    root = _parse(decode_html(data, path))
    if root is None:
        raise ConnectorError(path, "empty file (no HTML element)")
    metadata: dict[str, Any] = {}
    title = root.find(".//title")
    if title is not None and collapse(title.text_content()):
        metadata["title"] = collapse(title.text_content())
    _strip_boilerplate(root)
    roots = _content_roots(root)
    builder = DocumentBuilder()
    walker = _Walker(builder, source)
    for content in roots:
        walker.walk(content)
        walker.flush()
    if not builder.blocks:
        raise ConnectorError(path, "no text content")
    metadata["links"] = _links(roots)
    return builder.build(source=source, data=data, format="html", metadata=metadata)


class HtmlConnector:
    """The ``Connector`` for HTML."""

    name = "html"
    formats: tuple[str, ...] = ("html",)

    def load(self, path: Path, source: str) -> Document:
        return load(path, source)
