"""Markdown files: headings give the heading path, blocks keep their source, pipe tables become Tables;
hyperlinks go to metadata (``links``: href, anchor text and the link's span in the document text)."""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.base import ConnectorError, DocumentBuilder, read_bytes
from connectors.text import decode_text
from ragkit.types import Document, Table

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_SIMPLE_KEY = re.compile(r"^([A-Za-z_][\w.-]*)[ \t]*:[ \t]+(\S.*?)[ \t]*$")
_YAML_KEY = re.compile(r"^[A-Za-z_][\w.-]*[ \t]*:(?:\s|$)")
_BLOCK_SCALAR = re.compile(r"[|>][+-]?\d*")
_COMMENT = re.compile(r"\A\s*<!--.*-->\s*\Z", re.DOTALL)
_INLINE_LINK = re.compile(r"(?<!!)\[((?:[^\[\]\\]|\\.|\[[^\]]*\])*)\]\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)"
                          r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split a leading ``---`` YAML block off ``text``.

    Returns its simple ``key: value`` pairs (values as raw strings, matching quotes removed) and the rest.
    """
    match = _FRONT_MATTER.match(text)
    lines = (match.group(1) or "").splitlines() if match else []
    first = next((line for line in lines if line.strip()), "")
    if match is None or not _YAML_KEY.match(first):  # "---" then prose: a rule and a setext heading
        return {}, text
    metadata: dict[str, str] = {}
    for line in lines:
        pair = _SIMPLE_KEY.match(line)
        if pair and not _BLOCK_SCALAR.fullmatch(pair.group(2)):
            value = pair.group(2)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            metadata[pair.group(1)] = value
    return metadata, text[match.end() :]


def _plain(inline: Token) -> str:
    """The plain text of an inline token: markup dropped, soft and hard breaks as spaces."""
    parts: list[str] = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(_plain(child))
    return " ".join("".join(parts).split())


def _close_index(tokens: Sequence[Token], i: int) -> int:
    """Index of the token closing the block opened at ``tokens[i]``."""
    if tokens[i].nesting != 1:
        return i
    depth = 0
    for j in range(i, len(tokens)):
        depth += tokens[j].nesting
        if depth == 0:
            return j
    return len(tokens) - 1


def _table_rows(tokens: Sequence[Token]) -> list[list[str]]:
    """Cell texts of each row in the tokens of one table."""
    rows: list[list[str]] = []
    in_cell = False
    for token in tokens:
        if token.type == "tr_open":
            rows.append([])
        elif token.type in ("th_open", "td_open"):
            in_cell = True
            rows[-1].append("")
        elif token.type in ("th_close", "td_close"):
            in_cell = False
        elif token.type == "inline" and in_cell:
            rows[-1][-1] = _plain(token)
    return rows


def _links(md: MarkdownIt, tokens: Sequence[Token], text: str) -> list[dict[str, Any]]:
    """``{"href", "text", "start", "end"}`` of each link, in document order; ``start:end`` is the link's
    source (``[anchor](href)``) in ``text``, or its anchor text where the source has no inline link
    syntax (reference links, autolinks); None where neither is found (a link in skipped markup)."""
    found: list[tuple[str, str]] = []
    for token in tokens:
        if token.type != "inline":
            continue
        stack: list[tuple[str, list[str]]] = []
        for child in token.children or []:
            if child.type == "link_open":
                stack.append((str(child.attrGet("href") or ""), []))
            elif child.type == "link_close" and stack:
                href, parts = stack.pop()
                found.append((href, " ".join("".join(parts).split())))
            elif stack and child.type in ("text", "code_inline"):
                stack[-1][1].append(child.content)
            elif stack and child.type in ("softbreak", "hardbreak"):
                stack[-1][1].append(" ")
    # where each link is: markdown-it normalizes hrefs (percent-encoding), so compare normalized forms
    inline = [(m.start(), m.end(), md.normalizeLink(m.group(2).strip("<>"))) for m in _INLINE_LINK.finditer(text)]
    links: list[dict[str, Any]] = []
    cursor = 0
    for href, anchor in found:
        span = next(((s, e) for s, e, h in inline if s >= cursor and h == href), None)
        if span is None and anchor:
            at = text.find(anchor, cursor)
            span = (at, at + len(anchor)) if at >= 0 else None
        if span is not None:
            cursor = span[1]
        links.append({"href": href, "text": anchor, "start": span[0] if span else None, "end": span[1] if span else None})
    return links


def _parser() -> MarkdownIt:
    try:
        from markdown_it import MarkdownIt
    except ImportError as e:
        message = "markdown needs the package 'markdown-it-py' (pip install markdown-it-py)"
        raise ImportError(message, name="markdown_it") from e
    return MarkdownIt("commonmark").enable("table")


def load(path: Path, source: str) -> Document:
    """Read a Markdown file as heading, text and table blocks; front matter goes to metadata.

    Text blocks keep their Markdown source; a table block keeps its source rows, one line per row
    (the ``|---|`` delimiter line left out), so row ``r`` of its Table is line ``r`` of its text.
    Heading blocks hold the heading's plain text and their path ends with it.
    """
    data = read_bytes(path)
    metadata, body = split_front_matter(decode_text(data, path))
    lines = body.split("\n")
    md = _parser()
    tokens = md.parse(body)
    builder = DocumentBuilder()
    headings: list[tuple[int, str]] = []
    tables = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        end = _close_index(tokens, i)
        if token.level != 0 or token.map is None:
            i = end + 1
            continue
        source_text = "\n".join(lines[token.map[0] : token.map[1]])
        if token.type == "heading_open":
            level = int(token.tag[1:])
            title = _plain(tokens[i + 1])
            if title:
                headings = [h for h in headings if h[0] < level] + [(level, title)]
                builder.add(title, "heading", heading_path=[h[1] for h in headings])
        elif token.type == "table_open":
            tables += 1
            rows = _table_rows(tokens[i : end + 1])
            table = Table(table_id=f"{source}#t{tables}", rows=rows, header_rows=1)
            first, last = token.map
            rows_text = "\n".join([lines[first], *lines[first + 2 : last]])  # the source rows, one line each
            builder.add(rows_text, "table", heading_path=[h[1] for h in headings], table=table)
        elif token.type == "hr" or (token.type == "html_block" and _COMMENT.match(token.content)):
            pass
        else:
            builder.add(source_text, "text", heading_path=[h[1] for h in headings])
        i = end + 1
    if not builder.blocks:
        raise ConnectorError(path, "no text content")
    links = _links(md, tokens, builder.text)
    return builder.build(source=source, data=data, format="markdown",
                         metadata={**metadata, "links": links} if links else metadata)


class MarkdownConnector:
    """The ``Connector`` for Markdown."""

    name = "markdown"
    formats: tuple[str, ...] = ("markdown",)

    def load(self, path: Path, source: str) -> Document:
        return load(path, source)
