"""The plan of an ingest's writes: changed files in batches, and which stored documents a root holds."""
from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ragkit.executors.base import FileTask


def batches(
    tasks: Iterable[FileTask], max_files: int, max_bytes: int, at_least_one: bool = False
) -> Iterator[list[FileTask]]:
    """Consecutive runs of ``tasks`` of at most ``max_files`` files and (unless one file is larger)
    ``max_bytes`` bytes (with ``at_least_one``, one empty run when there are no tasks)."""
    batch: list[FileTask] = []
    size = 0
    if at_least_one:
        tasks = iter(tasks)
        first = next(tasks, None)
        if first is None:
            yield []
            return
        tasks = itertools.chain([first], tasks)
    for task in tasks:
        if batch and (len(batch) >= max_files or size + task.size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(task)
        size += task.size
    if batch:
        yield batch


def under(doc_id: str, root: Path) -> bool:
    r = str(root)
    return doc_id == r or doc_id.startswith(r.rstrip(os.sep) + os.sep)
