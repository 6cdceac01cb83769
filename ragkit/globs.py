"""Path globs, shared by ``--include`` / ``--exclude`` (connectors.folder) and ``[access] rules``
(ragkit.access): one meaning of a pattern everywhere, in the lowest layer so both can use it.

Hand-written over :func:`fnmatch.fnmatch` rather than ``pathspec``: the documented meaning (``*``
crosses folders, a pattern also matches a path's last part) is not gitignore's, and stores' configs
rely on it.
"""
from __future__ import annotations

from fnmatch import fnmatch


def matches(relpath: str, pattern: str) -> bool:
    """Whether a ``/``-separated path relative to a root matches a glob (gitignore-lite).

    A pattern matches the whole relative path (so one with a folder part is anchored at the root) or
    its last part; ``*`` crosses folders as in fnmatch, and ``**/`` also matches no folder at all, so
    ``docs/**/*.md`` matches ``docs/a.md``.
    """
    name = relpath.rsplit("/", 1)[-1]
    candidates = {pattern, pattern.replace("**/", "")} if "**/" in pattern else {pattern}
    return any(fnmatch(relpath, p) or fnmatch(name, p) for p in candidates)
