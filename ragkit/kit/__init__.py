"""The SDK facade: ``ragkit.open(path)`` → a Kit that indexes, searches, answers and chats."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragkit.access import Principal, Scope
from ragkit.chunking import StructuredChunker
from ragkit.config import Config
from ragkit.embedding import make_embedder
from ragkit.ingest import IndexReport, Indexer, PhaseHook, Progress
from graphs.build import GraphBuilder
from ragkit.ingest.commit import graph_builder
from ragkit.kit.graph import KitGraph
from ragkit.kit.runtime import Runtime
from ragkit.offline import enforce_offline
from ragkit.protocols import Embedder
from ragkit.store import Store
from ragkit.types import Answer, Chunk, ConnectorOptions, Document, Hit

if TYPE_CHECKING:
    from ragkit.retrieval.tune import TuneResult
    from ragkit.router.service import RetrievalService

DEFAULT_STORE = ".ragkit"


class Kit:
    """One store with its config, embedder and retrievers; models load on first use."""

    def __init__(self, path: str | Path = DEFAULT_STORE, config: Config | None = None):
        enforce_offline()  # before any model library the store's parts load (onnxruntime reads it at import)
        self.path = Path(path)
        if config is not None:
            config.save(self.path)
        elif not (self.path / "config.toml").exists():
            Config().save(self.path)  # the defaults, never this process's environment overrides
        self._config = config or Config.load(self.path)
        self.store = Store(self.path, self._config)
        self.embedder: Embedder = make_embedder(self._config.embedder)
        self._lock = threading.RLock()
        self._runtime: Runtime | None = None
        self._graph_builder: tuple[str, GraphBuilder] | None = None

    @property
    def config(self) -> Config:
        return self._config

    @config.setter
    def config(self, config: Config) -> None:
        """A new config for this Kit and its store; the read parts are built again from it."""
        with self._lock:
            self._config = self.store.config = config
            self._reset()

    @property
    def runtime(self) -> Runtime:
        """The typed read parts (graph, retrieval, evidence, answers), built once even when threads ask at
        the same time (the server's request threads do)."""
        runtime = self._runtime
        if runtime is None:
            with self._lock:
                if self._runtime is None:
                    self._runtime = Runtime.build(self.store, self.embedder, self._config)
                runtime = self._runtime
        return runtime

    @property
    def retrieval(self) -> RetrievalService:
        """Every retriever of this store and the reranker (``ragkit.router.RetrievalService``)."""
        return self.runtime.retrieval

    def _reset(self) -> None:
        """Drop the read parts (after a rebuild or repair): the next read builds them from the store."""
        with self._lock:
            runtime, self._runtime, self._graph_builder = self._runtime, None, None
        if runtime is not None:
            runtime.close()

    def __repr__(self) -> str:
        return f"Kit({str(self.path)!r})"

    # -- writing ------------------------------------------------------------------------------------

    def chunker(self) -> StructuredChunker:
        return StructuredChunker(self.config.chunking, self.embedder.token_offsets, self.embedder.settings()["name"])

    def connector_options(self) -> ConnectorOptions:
        ocr = self.config.ocr
        return ConnectorOptions(
            ocr_engine=ocr.engine, ocr_max_pages=ocr.max_pages, ocr_lang=ocr.lang,
            image_dir=str((self.path / "images").resolve()), **asdict(self.config.limits),
        )

    def _indexer(self, progress: Progress | None, on_phase: PhaseHook | None = None, executor: Any = None) -> Indexer:
        key = f"{self.config.graph!r}:{self.config.generator!r}"
        with self._lock:
            if self._graph_builder is None or self._graph_builder[0] != key:
                self._graph_builder = (key, graph_builder(self.config))
            builder = self._graph_builder[1]
        return Indexer(
            self.store, self.embedder, self.chunker(), progress, on_phase, self.connector_options(), executor, builder
        )

    def executor(self, spec: str | None = None) -> Any:
        """The executor named by ``spec`` (default: the config's ``executor.name``): local | ray |
        ray:auto | ray://HOST:PORT. The caller closes it."""
        from ragkit.executors import make_executor

        return make_executor(spec or self.config.executor.name, self.embedder, self.config.embedder)

    def index(
        self,
        paths: str | Path | Sequence[str | Path],
        meta: dict[str, Any] | None = None,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        rebuild: bool = False,
        wait: float = 0.0,
        progress: Progress | None = None,
        on_phase: PhaseHook | None = None,
        labels: Sequence[str] | None = None,
        executor: Any = None,
    ) -> IndexReport:
        """Index files and folders incrementally (by content hash); files gone from disk are deleted,
        files that ``include``/``exclude`` leave out are not read (and stay if stored). ``labels``:
        access labels of the files read (None: keep those given before; docs/access.md).

        ``executor`` runs parsing, chunking and embedding: a name (local | ray | ray:auto |
        ray://HOST:PORT; default the config's ``executor.name``) or an Executor (left open)."""
        if isinstance(paths, (str, Path)):
            paths = [paths]
        with self._runner(executor) as runner:
            if rebuild:
                self._rebuild(wait, on_phase, runner)
            return self._write(
                lambda ix: ix.index_paths(paths, meta=meta, include=include, exclude=exclude, labels=labels),
                wait, progress, on_phase, runner,
            )

    def index_uploads(
        self,
        files: Sequence[tuple[str | Path, str]],
        labels: Sequence[str] = (),
        meta: dict[str, Any] | None = None,
        root: str = "uploads",
        wait: float = 0.0,
        progress: Progress | None = None,
        executor: Any = None,
    ) -> IndexReport:
        """Index uploaded files, each ``(path to read, source to store it as)``, through the same write
        path as :meth:`index` (parse guard, ``[limits]``, labels: ``labels`` plus ``[access] rules``,
        metadata carry-over, the integrity pre-check); errors name the source."""
        return self._write(lambda ix: ix.index_uploads(files, root, labels=labels, meta=meta), wait, progress,
                           None, executor)

    def add_documents(
        self, documents: Sequence[Document], root: str | None = None, wait: float = 0.0, progress: Progress | None = None
    ) -> IndexReport:
        """Index documents built in code (ids are theirs, e.g. a BEIR corpus's ``_id``)."""
        return self._write(lambda ix: ix.add_documents(documents, root=root), wait, progress)

    @contextmanager
    def _runner(self, executor: Any) -> Iterator[Any]:
        """The executor ``executor`` names (closed after), or the Executor given (left open)."""
        owned = executor is None or isinstance(executor, str)
        runner = self.executor(executor) if owned else executor
        try:
            yield runner
        finally:
            if owned:
                runner.close()

    def _write(
        self, work: Callable[[Indexer], IndexReport], wait: float, progress: Progress | None,
        on_phase: PhaseHook | None = None, executor: Any = None,
    ) -> IndexReport:
        """The one write path: the store's writer lock, the settings check and the cheap integrity
        repair, then ``work`` on an Indexer whose executor parses in the guard with the ``[limits]``."""
        with self._runner(executor) as runner, self.store.writer(wait):
            indexer = self._indexer(progress, on_phase, runner)
            self.store.check_settings(**indexer.settings())
            indexer.repair(cheap=True)
            return work(indexer)

    def delete(self, doc_ids: Sequence[str], wait: float = 0.0) -> IndexReport:
        """Remove documents (by id) and their chunks from every part of the store, through the commit
        protocol; KeyError naming the first id that is not stored."""

        def work(indexer: Indexer) -> IndexReport:
            for doc_id in doc_ids:
                if self.store.doc_state(doc_id) is None:
                    raise KeyError(f"no document {doc_id!r} in {self.path}")
            indexer.write([], list(doc_ids), {}, [])
            return IndexReport(deleted=len(doc_ids))

        return self._write(work, wait, None, executor="local")  # nothing to parse or embed

    def _rebuild(self, wait: float, on_phase: PhaseHook | None = None, executor: Any = None) -> None:
        """Re-chunk and re-embed every stored document with the current settings into a new vector
        collection; the manifest commit switches to it atomically (a crash keeps the old index).
        Streams in batches (``Indexer.rebuild``)."""
        with self.store.writer(wait):
            self._indexer(None, on_phase, executor).rebuild()  # streams: batch by batch, one commit at the end
            self._reset()

    def check(self, repair: bool = False, wait: float = 0.0) -> Any:
        """Compare the vectors and lexical index with the manifest; with ``repair`` restore the
        committed state (under the writer lock). Returns a :class:`ragkit.integrity.CheckReport`."""
        from ragkit import integrity

        if not repair:
            return integrity.check(self.store)
        with self.store.writer(wait):
            report = self._indexer(None).repair(cheap=False)
            self._reset()
        if report.needs_graph_rebuild():
            rebuilt = self.graph.rebuild(wait=wait)
            report.repaired.append(f"rebuilt the graph of {rebuilt['documents']} document(s) from the manifest")
        report.remaining = integrity.check(self.store).problems if report.problems else []
        return report

    # -- reading ------------------------------------------------------------------------------------

    # ``principal``: the labels a read runs as ("hr,legal", ["hr"], a Principal; "" = public documents
    # only). None is the store's local owner, who reads every document (docs/access.md).

    def search(
        self, query: str, k: int | None = None, mode: str | None = None, where: dict[str, Any] | Scope | None = None,
        principal: str | Sequence[str] | Principal | None = None,
    ) -> list[Hit]:
        """The best chunks for ``query``: mode lexical | dense | hybrid | graph | auto (config default)."""
        return self.retrieval.search(query, k=k or self.config.retrieval.k, mode=mode, scope=Scope.of(where, principal))

    def search_batch(
        self, queries: Sequence[str], k: int | None = None, mode: str | None = None,
        where: dict[str, Any] | Scope | None = None, principal: str | Sequence[str] | Principal | None = None,
    ) -> list[list[Hit]]:
        return self.retrieval.search_batch(
            list(queries), k=k or self.config.retrieval.k, mode=mode, scope=Scope.of(where, principal)
        )

    def ask(
        self,
        question: str,
        generator: str | None = None,
        where: dict[str, Any] | Scope | None = None,
        k: int | None = None,
        on_token: Callable[[str], None] | None = None,
        principal: str | Sequence[str] | Principal | None = None,
    ) -> Answer:
        """Answer ``question`` from the store with verified citations (of chunks ``principal`` reads)."""
        return self.runtime.answers.ask(
            question, generator=generator, scope=Scope.of(where, principal), k=k, on_token=on_token
        )

    def chat(
        self, history: list[dict[str, str]], question: str, generator: str | None = None,
        where: dict[str, Any] | Scope | None = None, k: int | None = None,
        on_token: Callable[[str], None] | None = None, principal: str | Sequence[str] | Principal | None = None,
    ) -> Answer:
        """Answer the next turn of a conversation (history condensed into a standalone query)."""
        return self.runtime.answers.chat(
            history, question, generator=generator, scope=Scope.of(where, principal), k=k, on_token=on_token
        )

    def tune(self, queries: dict[str, str], qrels: dict[str, dict[str, int]], save: bool = True) -> TuneResult:
        """Fit the hybrid fusion weight and normalization on labeled queries (query id -> text, qrels
        query id -> {doc id: relevance}); saved in the store's config unless ``save`` is False."""
        from ragkit.retrieval.tune import tune_queries

        saver = (lambda: self.config.save(self.path)) if save else None
        return tune_queries(self.retrieval.hybrid(), self.config.retrieval, queries, qrels, save=saver)

    @property
    def graph(self) -> KitGraph:
        """The store's graph (``ragkit.kit.graph.KitGraph``): stats, entities, neighbors, path, export, merges."""
        return self.runtime.graph

    def document_text(self, doc_id: str) -> str:
        return self.store.document_text(doc_id)

    def documents(
        self, principal: str | Sequence[str] | Principal | None = None, limit: int | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Stored documents in source order (those ``principal`` reads, when given): at most ``limit``
        (None: all) from ``offset`` on."""
        from ragkit.access import principal as as_principal

        who = as_principal(principal)
        visible = None if who is None or who.everything else who.key()
        return self.store.documents(visible=visible, limit=limit, offset=offset)

    def chunks(self, ids: Sequence[str]) -> list[Chunk]:
        return self.store.chunks(ids)

    def stats(self) -> dict[str, Any]:
        return {
            "store": str(self.path),
            "documents": self.store.count_documents(),
            "chunks": self.store.count_chunks(),
            "generation": self.store.generation,
            "failed": self.store.failures(),
            "embedder": self.store.get_meta("embedder"),
            "chunker": self.store.get_meta("chunker"),
        }

    def close(self) -> None:
        with self._lock:
            self._reset()
            self.store.close()


def open(path: str | Path = DEFAULT_STORE, config: Config | None = None) -> Kit:  # noqa: A001 - SDK name
    """Open (or create) the store at ``path``."""
    return Kit(path, config)
