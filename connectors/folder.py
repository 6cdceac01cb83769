"""Walking folders for the files to ingest: deterministic order, glob filters, no symlink loops,
no symlink out of the indexed root, unreadable folders reported."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ragkit.globs import matches

SKIPPED_NAMES = frozenset({"__pycache__", "node_modules", ".git"})
OnError = Callable[[str, str], None]  # (path, reason) of a folder that could not be listed
__all__ = ["iter_files", "matches"]


def _hidden(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED_NAMES


def _dir_key(path: str | os.DirEntry[str]) -> tuple[int, int] | None:
    """(st_dev, st_ino) of a directory, following symlinks; None if it cannot be read."""
    try:
        st = path.stat() if isinstance(path, os.DirEntry) else os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _walk(
    directory: str,
    relative: str,
    visited: set[tuple[int, int]],
    include: Sequence[str],
    exclude: Sequence[str],
    root: str,
    on_error: OnError | None,
) -> Iterator[str]:
    """Paths (unresolved) of the files under ``directory``, entries in name order, depth first.
    ``root`` is the real path of the indexed root: symlinks to anything outside it are not followed."""
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
    except FileNotFoundError:
        return  # vanished while walking
    except OSError as exc:
        if on_error is not None:
            on_error(directory, f"cannot read folder: {exc.strerror or exc}")
        return
    for entry in entries:
        if _hidden(entry.name):
            continue
        rel = f"{relative}{entry.name}"
        try:
            if entry.is_symlink() and not _inside(os.path.realpath(entry.path), root):
                continue  # leads out of the indexed root (or loops): not followed
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()
        except OSError:
            continue
        if is_dir:
            key = _dir_key(entry)
            excluded = any(matches(rel, p) or matches(rel + "/", p) for p in exclude)  # "dir", "dir/**"
            if key is None or key in visited or excluded:
                continue
            visited.add(key)
            yield from _walk(entry.path, rel + "/", visited, include, exclude, root, on_error)
        elif is_file:  # broken symlinks, sockets and fifos are neither
            if include and not any(matches(rel, p) for p in include):
                continue
            if any(matches(rel, p) for p in exclude):
                continue
            yield entry.path


def iter_files(
    roots: Sequence[Path],
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    skip_dirs: Sequence[Path] = (),
    on_error: OnError | None = None,
    dedupe: bool = True,
) -> Iterator[Path]:
    """Resolved absolute paths of the files under ``roots`` (folders or single files), each once.

    Hidden names, ``__pycache__``, ``node_modules`` and the folders in ``skip_dirs`` (the store) are
    skipped. ``include``/``exclude`` globs match paths relative to their root (or a file root's name).
    Symlinks are followed only when they stay inside their root (each folder visited once, so loops
    end); broken symlinks are skipped; a folder that can't be listed is passed to ``on_error(path,
    reason)`` and skipped. Files come in name order, folder by folder, roots in the order given.
    ``dedupe=False`` leaves removing repeats (a file reached through a link too) to the caller, which
    then holds no set of every path (``ragkit index`` dedupes in its scan log, on disk).
    """
    include, exclude = list(include or ()), list(exclude or ())
    visited = {key for key in (_dir_key(str(d)) for d in skip_dirs) if key is not None}
    seen: set[Path] = set()
    for root in roots:
        root = Path(root).expanduser()
        if not root.exists():
            raise FileNotFoundError(f"no such file or folder: {root}")
        if root.is_dir():
            key = _dir_key(str(root))
            if key is None or key in visited:
                continue
            visited.add(key)
            found: Iterator[str] = _walk(str(root), "", visited, include, exclude, os.path.realpath(root), on_error)
        else:
            name = root.name
            keep = (not include or any(matches(name, p) for p in include)) and not any(
                matches(name, p) for p in exclude
            )
            found = iter([str(root)] if keep else [])
        for file in found:
            resolved = Path(file).resolve()
            if not dedupe:
                yield resolved
            elif resolved not in seen:
                seen.add(resolved)
                yield resolved
