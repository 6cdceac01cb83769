"""The store's single-writer lock: an flock on a file in the store; readers never take it."""
from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class StoreLockedError(RuntimeError):
    """Another process is writing to the store."""


@contextmanager
def writer_lock(path: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the lock file ``path``; wait up to ``wait`` seconds for another holder, then fail clearly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                fh.close()
                raise StoreLockedError(
                    f"{path.parent}: another ragkit process ({holder}) is writing to this store; "
                    "wait for it to finish or pass --wait SECONDS"
                ) from None
            time.sleep(0.2)
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()
