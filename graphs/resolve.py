"""Entity resolution: a normalized key per surface form, and alias merges by embedding similarity.

Normalization (every mention): case, punctuation, possessives, honorifics ("Dr.", "Prof."), a leading
"the", dotted acronyms ("U.S.A." -> "usa") and plurals of the last word. Merges of different keys
(e.g. "IBM Corp" / "IBM Corporation") are made by :func:`propose_merges` from name embeddings above a
threshold and recorded in the manifest's ``graph_merges`` table, so each can be listed and undone.
"""
from __future__ import annotations

import re
import sqlite3
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ragkit.protocols import Embedder

TITLES = {"dr", "mr", "mrs", "ms", "prof", "professor", "sir", "dame", "lord", "lady", "rev", "st", "saint", "president",
          "gen", "general", "capt", "captain", "jr", "sr"}
_ACRONYM_DOTS = re.compile(r"\b(?:[A-Za-z]\.){2,}")
_NON_WORD = re.compile(r"[^\w\s]+")
_KEEP_S = ("ss", "us", "is", "os", "as")
# default cosine threshold for alias merges, measured by bench/graph_aliases.py (docs/benchmarks.md)
DEFAULT_MERGE_THRESHOLD = 0.9


def singular(word: str) -> str:
    """A light English singular of one lower-case word (no dictionary: only the regular forms)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(_KEEP_S):
        return word[:-1]
    return word


def normalize(name: str) -> str:
    """The merge key of a surface form: ``"Dr. Marie Curie's"`` -> ``"marie curie"``."""
    text = unicodedata.normalize("NFKC", name).strip()
    text = _ACRONYM_DOTS.sub(lambda m: m.group(0).replace(".", ""), text)
    text = re.sub(r"['’]s\b", "", text)
    text = _NON_WORD.sub(" ", text.lower())
    words = text.split()
    while words and words[0] in TITLES and len(words) > 1:
        words = words[1:]
    if words and words[0] == "the" and len(words) > 1:
        words = words[1:]
    if words:
        words[-1] = singular(words[-1])
    return " ".join(words)


def initials(name: str) -> str:
    """Initials of the capitalized words: ``"World Health Organization"`` -> ``"who"``."""
    words = [w for w in re.split(r"[\s\-]+", name) if w[:1].isupper()]
    return "".join(w[0] for w in words).lower()


_PAREN_ACRONYM = re.compile(r"((?:[A-Z][\w\-]*\s+(?:(?:of|and|for|the|de|in)\s+)?){2,})\(([A-Z][A-Z0-9&]{1,9})\)")


def acronym_definitions(text: str) -> list[tuple[str, str]]:
    """``(long form, acronym)`` pairs defined in ``text`` as "Long Form Name (LFN)"."""
    out = []
    for m in _PAREN_ACRONYM.finditer(text):
        long_form, acronym = m.group(1).strip(), m.group(2)
        words = long_form.split()
        # keep the shortest tail of the phrase whose initials spell the acronym
        for i in range(len(words)):
            tail = " ".join(words[i:])
            if initials(tail) == acronym.lower().replace("&", ""):
                out.append((tail, acronym))
                break
    return out


# -- merges ---------------------------------------------------------------------------------------------


def candidate_pairs(names: dict[str, str], max_block: int = 50) -> list[tuple[str, str]]:
    """Pairs of entity keys that share a word (blocking), excluding blocks of very common words."""
    blocks: dict[str, list[str]] = defaultdict(list)
    for key in names:
        for word in set(key.split()):
            if len(word) > 2:
                blocks[word].append(key)
    pairs: set[tuple[str, str]] = set()
    for keys in blocks.values():
        if len(keys) < 2 or len(keys) > max_block:
            continue
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                pairs.add((a, b) if a < b else (b, a))
    return sorted(pairs)


def similar_pairs(
    names: dict[str, str], embedder: Embedder, threshold: float = DEFAULT_MERGE_THRESHOLD
) -> list[tuple[str, str, float]]:
    """(key a, key b, cosine) for blocked pairs whose name embeddings are at least ``threshold`` alike."""
    pairs = candidate_pairs(names)
    if not pairs:
        return []
    keys = sorted({k for p in pairs for k in p})
    vectors = np.asarray(embedder.embed([names[k] for k in keys]), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
    index = {k: i for i, k in enumerate(keys)}
    out = []
    for a, b in pairs:
        score = float(vectors[index[a]] @ vectors[index[b]])
        if score >= threshold:
            out.append((a, b, score))
    return out


def propose_merges(db: sqlite3.Connection, embedder: Embedder, threshold: float = DEFAULT_MERGE_THRESHOLD,
                   labels_must_match: bool = True) -> list[dict[str, Any]]:
    """Alias merges the embedding similarity suggests (the less-mentioned entity into the more-mentioned)."""
    rows = db.execute(
        "SELECT e.entity_id, e.name, e.label, COUNT(m.chunk_id) FROM graph_entities e "
        "LEFT JOIN graph_mentions m USING(entity_id) GROUP BY e.entity_id"
    ).fetchall()
    merged = {r[0] for r in db.execute("SELECT alias_id FROM graph_merges")}
    names = {r[0]: r[1] for r in rows if r[0] not in merged}
    labels = {r[0]: r[2] for r in rows}
    counts = {r[0]: r[3] for r in rows}
    out = []
    taken: set[str] = set()
    for a, b, score in sorted(similar_pairs(names, embedder, threshold), key=lambda p: -p[2]):
        if labels_must_match and labels.get(a) != labels.get(b):
            continue
        alias, canonical = (a, b) if (counts[a], a) < (counts[b], b) else (b, a)
        if alias in taken or canonical in taken:
            continue
        taken.add(alias)
        out.append({"alias": alias, "canonical": canonical, "score": round(score, 4)})
    return out


def record_merges(db: sqlite3.Connection, merges: Iterable[dict[str, Any]], method: str = "embedding") -> int:
    """Record merges (alias -> canonical) in the manifest; the derived graph applies them on load."""
    now = time.time()
    rows = [(m["alias"], m["canonical"], float(m.get("score", 1.0)), method, now) for m in merges]
    db.executemany("INSERT OR REPLACE INTO graph_merges VALUES (?,?,?,?,?)", rows)
    return len(rows)


def undo_merges(db: sqlite3.Connection, aliases: Sequence[str] | None = None) -> int:
    """Undo the given merges (alias keys), or all of them; returns how many were undone."""
    if aliases is None:
        return db.execute("DELETE FROM graph_merges").rowcount
    return sum(db.execute("DELETE FROM graph_merges WHERE alias_id=?", (a,)).rowcount for a in aliases)


def canonical_map(merges: Iterable[tuple[str, str]]) -> dict[str, str]:
    """alias -> final canonical key, following chains (a -> b -> c gives a -> c), cycles cut."""
    direct = dict(merges)
    out = {}
    for alias in direct:
        seen = {alias}
        target = direct[alias]
        while target in direct and target not in seen:
            seen.add(target)
            target = direct[target]
        out[alias] = target
    return out
