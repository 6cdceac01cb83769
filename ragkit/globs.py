"""Path globs, shared by ``--include`` / ``--exclude`` (connectors.folder) and ``[access] rules``
(ragkit.access): one meaning of a pattern everywhere, in the lowest layer so both can use it.

A pattern means what it means in a ``.gitignore`` (``pathspec.GitIgnoreSpec``, git's wildmatch: one without a
folder part matches a path's last part at any depth, one with a folder part is anchored at the root,
``**`` matches any number of folders, ``dir/**`` everything below ``dir``), and, as ragkit's globs
always have, ``*`` may also cross folders (fnmatch over the whole path: ``docs/*.md`` matches
``docs/a/b.md``). Stores' configs rely on that last rule: an ``[access] rule`` never matches fewer
files than it used to, so no document loses its labels.
"""
from __future__ import annotations

from fnmatch import fnmatchcase
from functools import lru_cache

import pathspec


@lru_cache(maxsize=1024)
def _spec(pattern: str) -> pathspec.GitIgnoreSpec | None:
    """The pattern compiled by pathspec; None for one git refuses (``!``, a trailing ``\\``), which
    then matches as fnmatch reads it."""
    try:
        return pathspec.GitIgnoreSpec.from_lines([pattern])
    except ValueError:
        return None


def matches(relpath: str, pattern: str) -> bool:
    """Whether a ``/``-separated path relative to a root matches a glob (see the module).

    ``a/**/*.md`` matches ``a/c.md`` and ``a/b/c.md``; ``c.md`` and ``*.md`` match ``a/b/c.md``;
    ``b/**`` does not (anchored at the root) but matches ``b/``.
    """
    spec = _spec(pattern)
    if spec is not None and spec.match_file(relpath):
        return True
    name = relpath.rsplit("/", 1)[-1]
    candidates = {pattern, pattern.replace("**/", "")} if "**/" in pattern else {pattern}
    return any(fnmatchcase(relpath, p) or fnmatchcase(name, p) for p in candidates)
