"""Relation predicates from a dependency parse: the verb phrase that connects two entities.

Given a spaCy ``Doc`` (tagger, parser and lemmatizer run) and the character spans of two entities in
one sentence, the predicate is the verb on the dependency path between them, as its lemma ("acquired"
-> "acquire"; a passive keeps its participle: "was born in" -> "be born in"), with its particle
("set up"), a negation ("not buy") and the preposition that introduces the second entity ("work
with", "be acquired by"). No verb on the path (an apposition, "Paris, the capital of France"): None,
and the caller falls back to the connecting words.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

_ARG_PREPS = {"prep", "agent", "dative"}


def _root(doc: Doc, start: int, end: int) -> Token | None:
    span = doc.char_span(start, end, alignment_mode="expand")
    return span.root if span is not None and len(span) else None


def _chain(token: Token) -> list[Token]:
    """The token and its heads up to the sentence root."""
    out = [token]
    while out[-1].head.i != out[-1].i:
        out.append(out[-1].head)
    return out


def verb_predicate(doc: Doc, first: tuple[int, int], second: tuple[int, int]) -> str | None:
    """The verb phrase linking the entity at char span ``first`` to the one at ``second``, or None."""
    a, b = _root(doc, *first), _root(doc, *second)
    if a is None or b is None or a.i == b.i or a.sent.start != b.sent.start:
        return None
    up_a, up_b = _chain(a), _chain(b)
    on_b = {t.i for t in up_b}
    lca = next((t for t in up_a if t.i in on_b), None)
    if lca is None:
        return None
    path_a = [t for t in up_a[1:] if t.i != lca.i and t.i not in on_b]
    path_b = up_b[1 : [t.i for t in up_b].index(lca.i)] if lca.i != b.i else []
    candidates = ([lca] if lca.i not in (a.i, b.i) else []) + path_b[::-1] + path_a[::-1]
    verb = next((t for t in candidates if t.pos_ in ("VERB", "AUX") and t.dep_ not in ("aux", "auxpass")), None)
    if verb is None:
        return None
    words = []
    if any(c.dep_ == "neg" for c in verb.children):
        words.append("not")
    if any(c.dep_ == "auxpass" for c in verb.children):
        words += ["be", verb.text.lower()]
    else:
        words.append(verb.lemma_.lower())
    words += [c.text.lower() for c in verb.children if c.dep_ == "prt"]
    # the preposition on the second entity's side that hangs from the verb: "work *with* X", "by X"
    chain_b = [t for t in up_b if t.i != b.i]
    prep = next((t for t in chain_b if t.head.i == verb.i and t.dep_ in _ARG_PREPS), None)
    if prep is None and b.dep_ in _ARG_PREPS and b.head.i == verb.i:
        prep = b
    if prep is not None:
        words.append(prep.text.lower())
    return " ".join(words)
