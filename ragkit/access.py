"""Document access labels and the principals that read them.

A document carries a set of labels (none: public). A principal holds a set of labels and reads a
document when the document is public or shares at least one label with it; the label ``*`` reads
everything. ``principal=None`` in the SDK and the CLI means the local owner of the store (reads
everything); the server never uses ``None``: a request runs as the labels bound to its bearer token.

A query travels as a :class:`Scope`: its metadata filters and the principal it runs as, two typed
fields, so every place that turns a scope into the set of allowed chunks (the lexical row mask, the
dense id filter, the graph view, the generator's evidence) enforces the principal before ranking,
with the same per-generation caches as metadata filters (``ragkit.retrieval.filters``). A filter key
cannot smuggle a principal in: keys starting with ``@`` are refused (:meth:`Scope.of`).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragkit.globs import matches

ALL = "*"
SIDECAR_SUFFIX = ".labels"  # ``report.pdf.labels`` labels ``report.pdf``
FOLDER_SIDECAR = ".ragkit-labels"  # labels every file in its folder and the folders below
_LABEL = re.compile(r"^[A-Za-z0-9_.:/\-]+$")


class AccessError(ValueError):
    """A bad label, principal or access rule (the message names it and what is valid)."""


def check_label(label: str, where: str = "label") -> str:
    """``label`` stripped, or AccessError: letters, digits and ``_ . : / -`` only."""
    value = str(label).strip()
    if not value or not _LABEL.match(value):
        raise AccessError(f"{where}: invalid label {label!r}; use letters, digits and _ . : / - (e.g. hr, team:legal)")
    return value


def normalize_labels(labels: Iterable[str] | None, where: str = "label") -> list[str]:
    """Sorted, de-duplicated, checked labels."""
    return sorted({check_label(label, where) for label in labels or ()})


@dataclass(frozen=True)
class Principal:
    """Who reads: a set of labels (empty: public documents only; containing ``*``: everything)."""

    labels: frozenset[str] = frozenset()

    @property
    def everything(self) -> bool:
        return ALL in self.labels

    def can_read(self, labels: Iterable[str]) -> bool:
        labels = set(labels)
        return self.everything or not labels or bool(labels & self.labels)

    def key(self) -> str:
        """The labels as one string: "" (public only) or "hr,legal" (sorted)."""
        return ",".join(sorted(self.labels))

    def to_dict(self) -> dict[str, Any]:
        return {"labels": sorted(self.labels)}


PUBLIC = Principal()


def principal(value: str | Iterable[str] | Principal | None) -> Principal | None:
    """A Principal from ``"hr,legal"``, ``["hr", "legal"]`` or a Principal; ``None`` stays None (the
    local owner). ``""`` or ``[]`` is the public principal."""
    if value is None or isinstance(value, Principal):
        return value
    parts = value.split(",") if isinstance(value, str) else [p for v in value for p in str(v).split(",")]
    labels = {p.strip() for p in parts if p.strip()}
    return Principal(frozenset(ALL if label == ALL else check_label(label, "principal") for label in labels))


Who = str | Iterable[str] | Principal | None  # what ``principal()`` accepts


@dataclass(frozen=True)
class Scope:
    """What one query may see: metadata filters that must all hold, and the principal it runs as
    (``None``: unrestricted, the store's local owner or a principal holding ``*``). Hashable: it keys
    the per-generation caches of allowed chunk ids."""

    filters: tuple[tuple[str, str], ...] = ()
    principal: Principal | None = None

    @classmethod
    def of(cls, where: Mapping[str, Any] | Scope | None = None, who: Who = None) -> Scope:
        """A scope from a ``where`` dict (``source_prefix``, ``doc_id``, ``source``, ``format``, ``kind`` or a
        metadata key) and a principal. A scope given as ``where`` keeps its principal unless ``who`` narrows
        it; a filter key starting with ``@`` is refused (reserved, never a way to pick one's labels)."""
        if isinstance(where, Scope):
            return where if who is None else cls(where.filters, _reader(who))
        items = dict(where or {})
        for key in items:
            if str(key).startswith("@"):
                raise AccessError(f"where: {key!r} is reserved; keys starting with '@' are not filters")
        return cls(tuple(sorted((str(k), str(v)) for k, v in items.items())), _reader(who))

    @property
    def where(self) -> dict[str, str]:
        """The metadata filters as a dict."""
        return dict(self.filters)

    @property
    def unrestricted(self) -> bool:
        """True when the scope sees every chunk (no filter, no principal)."""
        return not self.filters and self.principal is None

    def key(self) -> tuple[tuple[str, str], ...] | None:
        """A hashable, order-independent key (None when unrestricted)."""
        if self.unrestricted:
            return None
        return self.filters + ((("@principal", self.principal.key()),) if self.principal is not None else ())


EVERYTHING = Scope()


def _reader(who: Who) -> Principal | None:
    """The principal a scope restricts to: None for the owner and for a principal holding ``*``."""
    p = principal(who)
    return None if p is None or p.everything else p


def scope_of(where: Mapping[str, Any] | Scope | None) -> Scope:
    """``where`` as a Scope (a Scope stays as it is)."""
    return Scope.of(where)


def visible_sql(value: str, column: str = "d.labels") -> tuple[str, list[str]]:
    """SQL condition (and parameters) true for documents whose JSON ``labels`` ``value`` may read."""
    labels = [p for p in str(value).split(",") if p]
    if ALL in labels:
        return "1", []
    if not labels:
        return f"{column} = '[]'", []
    marks = ",".join("?" * len(labels))
    return f"({column} = '[]' OR EXISTS (SELECT 1 FROM json_each({column}) WHERE value IN ({marks})))", labels


# -- where labels come from at ingest ---------------------------------------------------------------


@dataclass(frozen=True)
class LabelRule:
    """``[access] rules`` entry: files whose path matches ``glob`` get ``labels``."""

    glob: str
    labels: tuple[str, ...]


def parse_rules(rules: Sequence[Any]) -> list[LabelRule]:
    """Rules from the config: ``[{glob = "hr/**", labels = ["hr"]}, ...]``; AccessError naming a bad one."""
    out = []
    for i, rule in enumerate(rules or ()):
        where = f"access.rules[{i}]"
        if not isinstance(rule, Mapping) or set(rule) - {"glob", "labels"} or "glob" not in rule:
            raise AccessError(f"{where}: expected {{glob = \"PATTERN\", labels = [\"LABEL\", ...]}}, got {rule!r}")
        labels = rule.get("labels", [])
        if isinstance(labels, str):
            labels = [labels]
        if not isinstance(rule["glob"], str) or not rule["glob"].strip():
            raise AccessError(f"{where}: glob must be a non-empty string")
        out.append(LabelRule(rule["glob"].strip(), tuple(normalize_labels(labels, where))))
    return out


def read_sidecar(path: Path) -> list[str]:
    """Labels in a sidecar file: one or more per line, separated by commas or spaces; ``#`` comments."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AccessError(f"{path}: cannot read the labels file: {exc}") from exc
    labels = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        labels += [p for p in re.split(r"[,\s]+", line) if p]
    return normalize_labels(labels, str(path))


def is_sidecar(path: Path) -> bool:
    """Whether ``path`` is a labels sidecar (never indexed itself)."""
    return path.name.endswith(SIDECAR_SUFFIX) or path.name == FOLDER_SIDECAR


class LabelResolver:
    """The labels of a file at ingest: the call's labels, plus every ``[access] rules`` glob it
    matches (relative to the indexed root), plus its ``NAME.labels`` sidecar and the
    ``.ragkit-labels`` files of its folder and the folders above it up to the root."""

    def __init__(self, rules: Sequence[Any] = ()):
        self.rules = parse_rules(rules)

    def resolve(self, path: Path, root: Path, given: Iterable[str] = ()) -> list[str]:
        labels = set(given)
        rel = path.name if path == root else path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        labels.update(self._rule_labels(rel, path.as_posix()))
        sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
        if sidecar.is_file():
            labels.update(read_sidecar(sidecar))
        top = root if root.is_dir() else root.parent
        folder = path.parent
        while True:
            marker = folder / FOLDER_SIDECAR
            if marker.is_file():
                labels.update(read_sidecar(marker))
            if folder == top or not folder.is_relative_to(top) or folder.parent == folder:
                break
            folder = folder.parent
        return sorted(labels)

    def resolve_source(self, source: str, given: Iterable[str] = ()) -> list[str]:
        """The labels of a document with no folder on disk (an upload, a document built in code): the
        given labels plus every rule matching its source or its name; no sidecars."""
        name = source.replace("\\", "/").rsplit("/", 1)[-1]
        return sorted(set(given) | self._rule_labels(name, source))

    def _rule_labels(self, *paths: str) -> set[str]:
        return {label for rule in self.rules if any(matches(p, rule.glob) for p in paths) for label in rule.labels}


def labels_json(labels: Iterable[str]) -> str:
    return json.dumps(sorted(set(labels)))
