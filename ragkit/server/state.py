"""What one app serves (:class:`ServerState`): the reading Kit, the write-job runner, the tokens and
the warm-up state, and the check of ``[server]``'s limits done once at start."""
from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import ragkit
from ragkit.access import Scope
from ragkit.config import ServerConfig
from ragkit.kit import Kit
from ragkit.server import auth, writer
from ragkit.server.batching import SearchBatcher
from ragkit.server.jobs import JobRunner
from ragkit.server.threadsafe import SerializedEmbedder
from ragkit.types import Hit

MAX_PAGE = 1000  # the largest ?limit= of GET /documents
POSITIVE = ("max_upload_bytes", "max_body_bytes", "max_question_chars", "max_meta_chars", "page_size")
T = TypeVar("T")


def check_server_config(config: ServerConfig, default_generator: str) -> tuple[list[str], set[str]]:
    """``[server]``'s request limits and allow-lists, checked once at start: the Host patterns and the
    generators a client may pick (ValueError naming the key)."""
    from ragkit.generation import GENERATORS

    for key in POSITIVE:
        if getattr(config, key) < 1:
            raise ValueError(f"server.{key} must be at least 1, got {getattr(config, key)!r}")
    if config.max_history_turns < 0:
        raise ValueError(f"server.max_history_turns must be 0 or more, got {config.max_history_turns!r}")
    if config.page_size > MAX_PAGE:
        raise ValueError(f"server.page_size must be at most {MAX_PAGE}, got {config.page_size!r}")
    for key in ("cors_origins", "generators"):
        value = getattr(config, key)
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"server.{key} must be a list of names, got {value!r}")
    unknown = [g for g in config.generators if g not in GENERATORS]
    if unknown:
        raise ValueError(f"server.generators: unknown {', '.join(map(repr, unknown))}; valid: {', '.join(GENERATORS)}")
    return auth.check_host_patterns(config.allowed_hosts), {default_generator, *config.generators}


class ServerState:
    """What one app serves: the reading Kit, the write-job runner, the auth token, warm-up state."""

    def __init__(self, kit: Kit):
        kit.close()  # drops cached retrievers and generators (the store reopens on use) so that
        kit.embedder = SerializedEmbedder(kit.embedder)  # every one built from now on holds the lock
        self.kit = kit
        self.config = kit.config.server
        self.tokens = auth.server_tokens(self.config)  # token -> principal ({}: open, public documents only)
        self.hosts, self.generators = check_server_config(self.config, kit.config.generator.name)
        self.jobs = JobRunner(self._open_writer, writer.OPERATIONS)
        self._uploads: Path | None = None  # where uploads wait for their job (made on the first one)
        self.searches = SearchBatcher(self._search_batch)
        self.warm = False
        self._warm_lock = threading.Lock()

    def _search_batch(self, queries: list[str], k: int, mode: str | None, where: Scope) -> list[list[Hit]]:
        return self.kit.search_batch(queries, k, mode, where)  # looked up per call (tests replace it)

    def _open_writer(self) -> Kit:
        return ragkit.open(self.kit.path)  # its own embedder: index jobs never wait for queries' lock

    def read(self, work: Callable[[], T]) -> T:
        """Run a query on the reading Kit; the first one loads the models (once, under a lock)."""
        if self.warm:
            return work()
        with self._warm_lock:
            result = work()
            self.warm = True
            return result

    def upload_root(self) -> Path:
        """The server's own folder for received uploads (removed on close, whatever became of the jobs)."""
        if self._uploads is None:
            self._uploads = Path(tempfile.mkdtemp(prefix="ragkit-server-"))
        return self._uploads

    def close(self) -> None:
        self.jobs.close()  # the running job finishes; queued ones are cancelled and clean up
        if self._uploads is not None:
            shutil.rmtree(self._uploads, ignore_errors=True)
        self.kit.close()
