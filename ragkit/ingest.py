"""Folder → changes (add / update / delete by content hash) → store, atomically and resumably.

An ingest scans the files (path, content hash and size only, recorded on disk in a
:class:`ragkit.ingest_scan.ScanLog`, so memory does not grow with the folder), then writes the changed ones in
batches (``ingest.batch_files`` / ``ingest.batch_bytes``), each batch committed as its own generation
by the write protocol (``Indexer.commit_batch``), each step a phase reported to ``on_phase``:
1. ``parse``, ``chunk``, ``embed``: read the batch's files and chunk them (through the executor,
   :mod:`ragkit.executors`), embed what the embedding cache lacks (each embedding batch cached
   durably, so a rerun resumes).
2. ``vectors``: upsert the new chunks' vectors into chroma; ids not yet in the manifest are invisible
   to readers.
3. ``manifest``: one SQLite transaction swaps the batch's documents and chunks (and, with the first
   batch, deletes the documents of vanished files) and bumps the generation.
4. ``delete``: stale collections and vectors out; ``lexical``: a segment of the new chunks and tombstones
   of the removed ones are written beside the published lexical index and the new generation published
   by an atomic rename (:mod:`ragkit.stores.generations`); ``merge`` (when the policy asks): segments
   merged and published again the same way.
A crash at any point leaves the last committed generation readable (the batches committed before it
stay); the next write first repairs the derived stores (:mod:`ragkit.integrity`, its cheap part) and
then does the rest, skipping the files whose content hash is already committed.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from graphs.build import GraphBuilder
from ragkit.chunking import StructuredChunker, text_hash
from ragkit.executors.base import Executor, FileTask
from ragkit.ingest_scan import CHANGED, RELABELED, SKIPPED, UNCHANGED, ScanLog
from ragkit.store import Store
from ragkit.types import Chunk, ConnectorOptions, Document

Progress = Callable[[str, int, int | None], None]
PhaseHook = Callable[[str], None]
EMBED_BATCH = 256
PHASES = ("parse", "chunk", "embed", "vectors", "manifest", "delete", "lexical", "merge")


@dataclass
class IndexReport:
    """What one ``index`` call changed (files) and wrote (chunks), and which files failed."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    relabeled: int = 0  # same content, new access labels: no re-chunking, no re-embedding
    chunks: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    graph_llm: dict[str, Any] | None = None  # LLM extraction usage (tokens, calls, budget) when graph.llm_extraction

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["graph_llm"] is None:
            del data["graph_llm"]
        return data


class Indexer:
    """Writes documents into a store: chunk, embed (cached by text hash), commit, publish.

    ``progress(stage, done, total)`` reports counts for progress bars; ``on_phase(name)`` is called as
    each phase of the write protocol starts (names in ``PHASES``).
    """

    def __init__(
        self,
        store: Store,
        embedder: Any,
        chunker: StructuredChunker,
        progress: Progress | None = None,
        on_phase: PhaseHook | None = None,
        options: ConnectorOptions | None = None,
        executor: Executor | None = None,
        graph: GraphBuilder | None = None,
    ):
        from ragkit.executors.local import LocalExecutor

        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.progress = progress or (lambda stage, done, total: None)
        self.on_phase = on_phase or (lambda phase: None)
        self.options = options or ConnectorOptions()
        # cache keys are salted with the embedder, so vectors of another model are never reused
        self.salt = json.dumps(embedder.settings(), sort_keys=True)
        # a caller's builder keeps its loaded models (spaCy: ~0.5 s) from one index call to the next
        self.graph = graph or GraphBuilder(store.config.graph, store.config.generator)
        self.llm_usage: dict[str, Any] | None = None  # LLM extraction usage of the last index call
        self.executor: Executor = executor or LocalExecutor(embedder)
        self._owns_executor = executor is None
        self.batch_files = max(1, int(store.config.ingest.batch_files))
        self.batch_bytes = max(1, int(store.config.ingest.batch_bytes))

    def vector_key(self, text: str) -> str:
        return text_hash(self.salt + "\x00" + text)

    def settings(self) -> dict[str, Any]:
        return {"embedder": self.embedder.settings(), "chunker": self.chunker.settings()}

    # -- entry points -------------------------------------------------------------------------------

    def index_paths(
        self,
        paths: Sequence[str | Path],
        meta: dict[str, Any] | None = None,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        labels: Sequence[str] | None = None,
    ) -> IndexReport:
        """Index files under ``paths``: add new, update changed, delete vanished, skip unchanged.

        ``include``/``exclude`` choose which files are read; a stored document they filter out stays.
        Only documents whose file is gone from disk are deleted. The changed files are written in
        batches (``ingest.batch_files`` / ``ingest.batch_bytes``), each committed as its own
        generation: memory follows the batch, and an interrupted run keeps the batches committed (the
        next run skips them, their hashes being stored, and does the rest).
        """
        from connectors.folder import iter_files
        from ragkit.access import LabelResolver, is_sidecar, normalize_labels

        meta = dict(meta or {})
        report = IndexReport()
        roots = [Path(p).expanduser().resolve() for p in paths]
        given = None if labels is None else normalize_labels(labels, "--label")
        resolver = LabelResolver(self.store.config.access.rules)
        store = self.store
        # every file seen (path, digest, size, labels, state) goes to disk, not to Python objects, and
        # stored documents are looked up one by one: memory stays flat however many files there are
        scan = _Scan(store, report, meta, given, self.options)
        unreadable: list[str] = []  # folders that could not be listed: reported, their documents kept

        def listing_failed(path: Path, why: str) -> None:
            unreadable.append(str(path))
            report.failed.append({"path": str(path), "error": f"{path}: {why}"})

        try:
            for root in roots:
                if not root.exists():
                    if store.doc_ids_under(root):
                        continue  # the whole root vanished: its documents are deleted below
                    raise FileNotFoundError(f"{root}: no such file or directory")
                for path in iter_files(
                    [root], include=include, exclude=exclude, skip_dirs=[store.path.resolve()],
                    on_error=listing_failed, dedupe=False,  # the scan log dedupes, on disk
                ):
                    if str(path) in scan.log or is_sidecar(path):
                        continue
                    scan.file(path, str(path), str(root), lambda mine, p=path, r=root: resolver.resolve(p, r, mine))
            deletes = [
                doc_id for doc_id in dict.fromkeys(d for r in roots for d in store.doc_ids_under(r))
                if doc_id not in scan.log and not os.path.lexists(doc_id)
                and not any(_under(doc_id, Path(u)) for u in unreadable)
            ]
            report.deleted = len(deletes)
            previously_failed = {f["path"] for f in store.failures()}
            # failures cleared with the first commit: files now unchanged or gone (changed ones: per batch)
            gone = [p for p in previously_failed if p not in scan.log and any(_under(p, r) for r in roots)
                    and not os.path.lexists(p)]
            self._start_call()
            self._write_batches(scan, deletes, gone, previously_failed)
        finally:
            scan.log.close()
        return report

    def index_uploads(
        self, files: Sequence[tuple[str | Path, str]], root: str, labels: Sequence[str] = (),
        meta: dict[str, Any] | None = None,
    ) -> IndexReport:
        """Index uploaded files, each ``(path to read, source)``: the same size limits, parse guard,
        chunk limits, labels (``labels`` — the uploader's — plus the ``[access] rules`` matching the
        source; sidecars are not read from uploads) and metadata carry-over as :meth:`index_paths`,
        with errors naming the source. ``root`` is the sources' common prefix; nothing is deleted."""
        from ragkit.access import LabelResolver, is_sidecar, normalize_labels

        report = IndexReport()
        given = normalize_labels(labels, "uploader labels")
        resolver = LabelResolver(self.store.config.access.rules)
        scan = _Scan(self.store, report, dict(meta or {}), given, self.options)
        try:
            for path, source in files:
                path = Path(path)
                if is_sidecar(path):
                    report.failed.append({"path": source, "error": f"{source}: labels sidecars are not read from"
                                          " uploads (the uploader's labels and [access] rules apply)"})
                    continue
                if source not in scan.log:
                    scan.file(path, source, root, lambda mine, s=source: resolver.resolve_source(s, mine))
            self._start_call()
            self._write_batches(scan, [], [], {f["path"] for f in self.store.failures()})
        finally:
            scan.log.close()
        return report

    def _write_batches(self, scan: _Scan, deletes: list[str], gone: list[str], previously_failed: set[str]) -> None:
        """Parse, chunk and commit the scan's changed files batch by batch (deletes, relabels, scan
        failures and cleared failures with the first batch)."""
        store, report, log = self.store, scan.report, scan.log
        unchanged = sorted(p for p in previously_failed if log.state(p) not in (None, CHANGED))
        cleared = [p for p in unchanged + deletes + sorted(gone) if p in previously_failed and p not in scan.failures]
        report.failed += [{"path": p, "error": error} for p, (_, error) in scan.failures.items()]
        n_tasks = log.changed
        try:
            tally = _Tally(self.progress)
            for n, batch in enumerate(_batches(log.tasks(), self.batch_files, self.batch_bytes, at_least_one=True)):
                docs: list[tuple[Document, str | None, list[Chunk], list[str]]] = []
                failures: dict[str, tuple[str | None, str]] = dict(scan.failures) if n == 0 else {}
                batch_labels = dict(scan.relabels) if n == 0 else {}
                given_meta: dict[str, dict[str, Any]] = {}
                if batch:
                    self.on_phase("parse")
                for prepared in self.executor.parse_chunk(batch, self.options, self.chunker):
                    task = prepared.task
                    tally.step("parse", n_tasks)
                    if prepared.document is None:
                        error = _named(prepared.error or f"{task.source}: could not be parsed", task.path, task.source)
                        failures[task.source] = (task.root, error)
                        report.failed.append({"path": task.source, "error": error})
                        continue
                    doc = prepared.document
                    batch_labels[doc.doc_id] = log.labels(task.source)
                    given_meta[doc.doc_id] = task.meta
                    docs.append((doc, task.root, prepared.chunks, prepared.embed_texts))
                    if store.doc_state(doc.doc_id) is not None:
                        report.updated += 1
                    else:
                        report.added += 1
                cleared += [t.source for t in batch if t.source in previously_failed and t.source not in failures]
                if batch:
                    self.on_phase("chunk")
                    tally.report("chunk", tally.done["parse"], n_tasks)
                report.chunks += self.commit_batch(
                    docs, deletes, failures, cleared, tally=tally, labels=batch_labels, given_meta=given_meta
                )
                deletes, cleared = [], []  # committed with the first batch
        finally:
            if self._owns_executor:
                self.executor.close()  # parse workers stop with the ingest
        tally.report("parse", n_tasks, n_tasks)
        report.graph_llm = self.llm_usage

    def add_documents(self, documents: Sequence[Document], root: str | None = None) -> IndexReport:
        """Index documents built in code (e.g. a BEIR corpus); a doc_id already stored with the same
        content hash is skipped, with another hash it is replaced. Committed in batches of
        ``ingest.batch_files`` documents."""
        from ragkit.access import LabelResolver, normalize_labels

        resolver = LabelResolver(self.store.config.access.rules)  # the same rules as every other ingest
        relabels: dict[str, tuple[list[str], list[str]]] = {}
        report = IndexReport()
        docs = []
        for doc in documents:
            given = normalize_labels(doc.labels, doc.doc_id)
            doc.labels = resolver.resolve_source(doc.source or doc.doc_id, given)
            relabels[doc.doc_id] = (doc.labels, given)
            previous = self.store.doc_state(doc.doc_id)  # one lookup, not every stored document per call
            if previous and previous[0] == doc.content_hash:
                if sorted(previous[1]) != doc.labels:
                    report.relabeled += 1
                else:
                    relabels.pop(doc.doc_id)
                    report.unchanged += 1
                continue
            report.updated += 1 if previous else 0
            report.added += 0 if previous else 1
            docs.append((doc, root))
        self._start_call()
        tally = _Tally(self.progress)
        for start in range(0, len(docs), self.batch_files):
            part = docs[start : start + self.batch_files]
            labels = {d.doc_id: relabels.pop(d.doc_id) for d, _ in part if d.doc_id in relabels}
            if start == 0:
                labels |= {k: v for k, v in relabels.items() if k not in {d.doc_id for d, _ in docs}}  # relabels only
            report.chunks += self.write(part, [], {}, [], tally=tally, total=len(docs), labels=labels)
        if not docs and relabels:
            self.write([], [], {}, [], tally=tally, labels=relabels)
        report.graph_llm = self.llm_usage
        return report

    def _start_call(self) -> None:
        """A new index call: LLM extraction usage (and its token budget) start again."""
        self.llm_usage = None
        self.graph.start_call()

    def rebuild(self) -> int:
        """Re-chunk and re-embed every stored document with the current settings into a new vector
        collection, which one manifest commit makes current at the end (a crash keeps the old index).

        Streams in two passes, never holding more than a batch of documents: (1) chunk, embed (into the
        durable cache) and upsert into the new collection, batch by batch; (2) in ONE manifest
        transaction, chunk each batch again (deterministic; no embedding) and swap its rows and graph.
        """
        store = self.store
        collection = store.new_collection_name()
        target = store.vector_collection(collection)
        total = store.count_documents()
        tally = _Tally(self.progress)
        with store.transaction() as db:
            store.set_meta(db, "dirty", True)
        for group in store.iter_doc_keys(self.batch_files):  # nothing else writes documents: the lock is held
            docs = [(store.document(doc_id), root) for doc_id, root in group]
            self.on_phase("chunk")
            prepared = self._chunk(docs, tally, total)
            vectors = self._embed(prepared, tally)
            self.on_phase("vectors")
            chunk_ids = [c.chunk_id for _, _, chunks, _ in prepared for c in chunks]
            if chunk_ids:
                target.upsert(chunk_ids, np.stack([vectors[self.vector_key(t)] for *_, texts in prepared for t in texts]))
            tally.step("store", total, len(group))

        def swaps() -> Iterator[tuple[list[tuple[Document, str | None, list[Chunk], list[str]]], Any]]:
            # inside the commit's transaction: a swap rewrites a page's rows under the same doc ids, so
            # the keyset walk sees the same documents in the same order as the first pass
            for group in store.iter_doc_keys(self.batch_files):
                docs = [(store.document(doc_id), root) for doc_id, root in group]
                upserts = self._keyed(self._chunk(docs, None, total))
                yield upserts, self.graph.run([(d, c) for d, _, c, _ in upserts], None)

        self.on_phase("manifest")
        settings = self.settings() | {"collection": collection}
        store.commit_stream(swaps(), settings)
        self.publish()
        return store.count_chunks()

    # -- the commit protocol ------------------------------------------------------------------------

    def write(
        self,
        docs: list[tuple[Document, str | None]],
        deletes: list[str],
        failures: dict[str, tuple[str | None, str]],
        cleared: list[str],
        tally: _Tally | None = None,
        total: int | None = None,
        labels: dict[str, tuple[list[str], list[str]]] | None = None,
    ) -> int:
        """Chunk documents, then :meth:`commit_batch` them with ``deletes``. Returns chunks written."""
        tally = tally or _Tally(self.progress)
        if docs:
            self.on_phase("chunk")
        prepared = self._chunk(docs, tally, total if total is not None else len(docs))
        return self.commit_batch(prepared, deletes, failures, cleared, tally=tally, labels=labels)

    def commit_batch(
        self,
        docs: list[tuple[Document, str | None, list[Chunk], list[str]]],
        deletes: list[str],
        failures: dict[str, tuple[str | None, str]],
        cleared: list[str],
        tally: _Tally | None = None,
        labels: dict[str, tuple[list[str], list[str]]] | None = None,
        given_meta: dict[str, dict[str, Any]] | None = None,
    ) -> int:
        """Commit one batch of chunked documents (document, root, chunks, embed texts) as one generation:
        graph, embed, upsert vectors, commit the manifest, publish derived stores. Returns chunks.
        ``labels``: doc id -> (access labels, labels given at ingest), committed in the same transaction
        (for a document whose content is unchanged, that is the whole change: a relabel); ``given_meta``:
        doc id -> the metadata given at ingest (kept for the next content change).
        """
        store = self.store
        tally = tally or _Tally(self.progress)
        if not docs and not deletes and not failures and not cleared and not labels:
            return 0
        upserts = self._keyed(docs)
        graph = self.graph.run([(doc, chunks) for doc, _, chunks, _ in upserts], tally.scoped("graph"))  # before the commit
        usage = self.graph.take_usage()
        if usage:  # tokens are spent even if the commit fails: account for them now
            from graphs.llm import LLMUsage
            from ragkit.graph import record_llm_usage

            with store.transaction() as db:
                record_llm_usage(store, db, usage)
            total = LLMUsage()
            total.add(self.llm_usage or {})
            total.add(usage)
            total.exhausted = bool(usage.get("exhausted"))
            self.llm_usage = total.to_dict()

        # 1. embed what the cache lacks (each batch cached durably: a rerun resumes)
        vectors = self._embed(docs, tally)

        # 2. vector store: new ids are invisible until the manifest commits them
        self.on_phase("vectors")
        with store.transaction() as db:
            store.set_meta(db, "dirty", True)
        ids = [c.chunk_id for _, _, chunks, _ in upserts for c in chunks]
        if ids:
            matrix = np.stack([vectors[h] for _, _, _, hashes in upserts for h in hashes])
            tally.report("store", tally.done["store"], tally.total["store"] + len(ids))
            store.vectors.upsert(ids, matrix)

        # 3. manifest: one transaction swaps this batch's documents and chunks
        self.on_phase("manifest")
        store.commit(upserts, deletes, failures, cleared, self.settings(), graph, labels=labels, given_meta=given_meta)

        # 4. derived stores: stale collections and vectors out, lexical index for the new generation
        self.publish()
        tally.step("store", tally.total["store"], len(ids))
        return len(ids)

    def _chunk(
        self, docs: Sequence[tuple[Document, str | None]], tally: _Tally | None, total: int
    ) -> list[tuple[Document, str | None, list[Chunk], list[str]]]:
        """(document, root, chunks, embed texts) for each document."""
        out = []
        for doc, root in docs:
            chunks = self.chunker.run(doc)
            out.append((doc, root, chunks, [self.chunker.embed_text(c) for c in chunks]))
            if tally is not None:
                tally.step("chunk", total)
        return out

    def _keyed(
        self, docs: Sequence[tuple[Document, str | None, list[Chunk], list[str]]]
    ) -> list[tuple[Document, str | None, list[Chunk], list[str]]]:
        """Embed texts replaced by their embedding-cache keys (what the manifest stores)."""
        return [(doc, root, chunks, [self.vector_key(t) for t in texts]) for doc, root, chunks, texts in docs]

    def _embed(
        self, docs: Sequence[tuple[Document, str | None, list[Chunk], list[str]]], tally: _Tally
    ) -> dict[str, np.ndarray]:
        """cache key -> vector for every embed text of ``docs``; what the cache lacks is embedded by the
        executor, shortest texts first, and cached durably batch by batch (a rerun resumes)."""
        store = self.store
        by_hash = {self.vector_key(t): t for _, _, _, texts in docs for t in texts}
        vectors = store.cached_vectors(by_hash)
        todo = sorted((h for h in by_hash if h not in vectors), key=lambda h: len(by_hash[h]))
        if todo:
            self.on_phase("embed")
        base, total = tally.done["embed"], tally.total["embed"] + len(todo)
        for start in range(0, len(todo), EMBED_BATCH):
            tally.report("embed", base + start, total)
            part = todo[start : start + EMBED_BATCH]
            fresh = dict(zip(part, self.executor.embed([by_hash[h] for h in part])))
            store.cache_vectors(fresh)
            vectors.update(fresh)
        tally.report("embed", base + len(todo), total)
        return vectors

    def publish(self) -> None:
        """Finish a commit: drop stale collections of this store, delete stale vectors, publish the
        lexical index of the committed generation."""
        store = self.store
        self.on_phase("delete")
        vectors = store.vectors
        for name in vectors.collection_names():
            if name != vectors.collection_name and store.owns_collection(name):
                vectors.drop_collection(name)
        pending = [r[0] for r in store.db.execute("SELECT chunk_id FROM pending_deletes")]
        if pending:
            vectors.delete(pending)
            with store.transaction() as db:
                db.executemany("DELETE FROM pending_deletes WHERE chunk_id=?", [(c,) for c in pending])
        self.on_phase("lexical")
        store.save_lexical(on_merge=lambda: self.on_phase("merge"))
        with store.transaction() as db:
            store.mark_clean(db)

    def repair(self, cheap: bool = True) -> Any:
        """Check the derived stores against the manifest and restore what differs; ``cheap`` (the
        default, run before every write) skips comparing every vector and lexical scores."""
        from ragkit.integrity import repair

        return repair(self.store, self.embedder, self.chunker.embed_text, cheap=cheap)


class _Scan:
    """One ingest's scan: each file's state (unchanged, relabelled, changed, failed) decided against the
    store and recorded in a :class:`ScanLog`, with its labels and the metadata its document gets."""

    def __init__(self, store: Store, report: IndexReport, meta: dict[str, Any], given: list[str] | None,
                 options: ConnectorOptions):
        self.store, self.report, self.meta, self.given, self.options = store, report, meta, given, options
        self.log = ScanLog()
        self.relabels: dict[str, tuple[list[str], list[str]]] = {}  # committed with the first batch
        self.failures: dict[str, tuple[str | None, str]] = {}  # unreadable or too large: kept in the manifest

    def file(self, path: Path, source: str, root: str, resolve: Callable[[list[str]], list[str]]) -> None:
        """Scan one file read from ``path`` as document ``source``; ``resolve(given)`` -> its labels."""
        from connectors.base import ConnectorError
        from connectors.limits import check_file_size
        from ragkit.access import AccessError

        store, log = self.store, self.log
        try:
            check_file_size(path, self.options)  # a huge file is never read
            digest, size = file_digest(path)
        except ConnectorError as exc:
            self.failures[source] = (root, _named(str(exc), str(path), source))
            log.add(source, SKIPPED)
            return
        except OSError as exc:
            self.failures[source] = (root, f"{source}: cannot read file: {exc.strerror or exc}")
            log.add(source, SKIPPED)
            return
        stored = store.doc_state(source)
        old_labels, old_given = (stored[1], stored[2]) if stored else ([], [])
        mine = old_given if self.given is None else self.given
        try:
            now_labels = resolve(list(mine))
        except AccessError as exc:  # an unreadable or bad sidecar: the file is not indexed
            self.report.failed.append({"path": source, "error": str(exc)})
            log.add(source, SKIPPED)
            return
        now = (now_labels, list(mine))
        meta = self.meta
        if stored and stored[0] == digest and (not meta or _meta_matches(store.doc_metadata(source), meta)):
            if now != (sorted(old_labels), sorted(old_given)):
                self.relabels[source] = now
                self.report.relabeled += 1
                log.add(source, RELABELED)
            else:
                self.report.unchanged += 1
                log.add(source, UNCHANGED)
            return
        # metadata once given is kept until the user changes it (like labels): the new keys over the old
        kept = {**store.doc_given_meta(source), **meta} if stored else meta
        log.add(source, CHANGED, root, digest, size, now, path=str(path), meta=kept)


class _Tally:
    """Progress counts that run on across batches: ``done``/``total`` per stage."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.done: dict[str, int] = defaultdict(int)
        self.total: dict[str, int] = defaultdict(int)

    def report(self, stage: str, done: int, total: int | None) -> None:
        self.done[stage] = done
        self.total[stage] = total or 0
        self.progress(stage, done, total)

    def step(self, stage: str, total: int | None, by: int = 1) -> None:
        """``by`` more done of ``total`` (the stage's total so far when None)."""
        self.report(stage, self.done[stage] + by, total if total is not None else self.total[stage])

    def scoped(self, stage: str) -> Progress:
        """A progress callback for one batch's ``stage`` whose counts add to the earlier batches'."""
        base_done, base_total = self.done[stage], self.total[stage]

        def update(name: str, done: int, total: int | None) -> None:
            self.report(name, base_done + done, base_total + (total or 0))

        return update


def file_digest(path: Path) -> tuple[str, int]:
    """The content hash of a file (as ``connectors.base.content_hash`` of its bytes) and its size,
    read in blocks so a large file is never held whole."""
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256")
        size = fh.tell()
    return digest.hexdigest(), size


def _batches(
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


def _under(doc_id: str, root: Path) -> bool:
    r = str(root)
    return doc_id == r or doc_id.startswith(r.rstrip(os.sep) + os.sep)


def _named(error: str, path: str, source: str) -> str:
    """An error about the file read from ``path`` worded about its document ``source`` (an upload's
    temporary file is named by the source it is stored as)."""
    return error if path == source else error.replace(path, source)


def _meta_matches(stored: dict[str, Any], meta: dict[str, Any]) -> bool:
    return all(str(stored.get(k)) == str(v) for k, v in meta.items())
