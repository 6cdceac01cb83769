"""The lexical index on disk: one folder per committed generation, published by an atomic rename of
the ``CURRENT`` pointer, so a reader always loads a whole index of one generation."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ragkit.stores.bm25 import Bm25Index

POINTER = "CURRENT"


def current_name(base: Path) -> str | None:
    """The generation folder ``CURRENT`` names, or None when there is no readable pointer."""
    try:
        return (base / POINTER).read_text().strip() or None
    except OSError:
        return None


def is_published(base: Path, generation: int) -> bool:
    name = f"gen-{generation}"
    return current_name(base) == name and (base / name).is_dir()


def load(base: Path, generation: int) -> Bm25Index | None:
    """The saved index of ``generation``, or None if it is not the published one or can't be read."""
    if not is_published(base, generation):
        return None
    try:
        return Bm25Index.load(base / f"gen-{generation}")
    except Exception:  # noqa: BLE001 - a damaged index is rebuilt from the manifest by the caller
        return None


def publish(base: Path, generation: int, index: Bm25Index) -> None:
    """Write ``index`` as ``gen-N`` beside the old one, switch ``CURRENT`` atomically, drop the rest."""
    base.mkdir(parents=True, exist_ok=True)
    name = f"gen-{generation}"
    target = base / name
    tmp = base / f".tmp-{name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    index.save(tmp)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    pointer = base / ".CURRENT.tmp"
    pointer.write_text(name)
    os.replace(pointer, base / POINTER)
    for old in base.iterdir():
        if old.name not in (name, POINTER):
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
