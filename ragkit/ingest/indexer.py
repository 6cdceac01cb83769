"""The entry points of an ingest: files and folders, uploads, documents built in code, and a rebuild,
each scanned against the store and written through the commit protocol (:class:`Committer`)."""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ragkit.ingest.commit import Committer
from ragkit.ingest.plan import batches, under
from ragkit.ingest.report import IndexReport, Tally
from ragkit.ingest.scan import CHANGED, Scan, named
from ragkit.types import Chunk, Document


class Indexer(Committer):
    """Writes documents into a store: scans what changed, then commits it batch by batch.

    ``progress(stage, done, total)`` reports counts for progress bars; ``on_phase(name)`` is called as
    each phase of the write protocol starts (names in ``PHASES``).
    """

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
        scan = Scan(store, report, meta, given, self.options)
        unreadable: list[str] = []  # folders that could not be listed: reported, their documents kept

        def listing_failed(path: str, why: str) -> None:
            unreadable.append(path)
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
                    scan.file(path, str(path), str(root), partial(resolver.resolve, path, root))
            deletes = [
                doc_id for doc_id in dict.fromkeys(d for r in roots for d in store.doc_ids_under(r))
                if doc_id not in scan.log and not os.path.lexists(doc_id)
                and not any(under(doc_id, Path(u)) for u in unreadable)
            ]
            report.deleted = len(deletes)
            previously_failed = {f["path"] for f in store.failures()}
            # failures cleared with the first commit: files now unchanged or gone (changed ones: per batch)
            gone = [p for p in previously_failed if p not in scan.log and any(under(p, r) for r in roots)
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
        scan = Scan(self.store, report, dict(meta or {}), given, self.options)
        try:
            for path, source in files:
                path = Path(path)
                if is_sidecar(path):
                    report.failed.append({"path": source, "error": f"{source}: labels sidecars are not read from"
                                          " uploads (the uploader's labels and [access] rules apply)"})
                    continue
                if source not in scan.log:
                    scan.file(path, source, root, partial(resolver.resolve_source, source))
            self._start_call()
            self._write_batches(scan, [], [], {f["path"] for f in self.store.failures()})
        finally:
            scan.log.close()
        return report

    def _write_batches(self, scan: Scan, deletes: list[str], gone: list[str], previously_failed: set[str]) -> None:
        """Parse, chunk and commit the scan's changed files batch by batch (deletes, relabels, scan
        failures and cleared failures with the first batch)."""
        store, report, log = self.store, scan.report, scan.log
        unchanged = sorted(p for p in previously_failed if log.state(p) not in (None, CHANGED))
        cleared = [p for p in unchanged + deletes + sorted(gone) if p in previously_failed and p not in scan.failures]
        report.failed += [{"path": p, "error": error} for p, (_, error) in scan.failures.items()]
        n_tasks = log.changed
        try:
            tally = Tally(self.progress)
            for n, batch in enumerate(batches(log.tasks(), self.batch_files, self.batch_bytes, at_least_one=True)):
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
                        error = named(prepared.error or f"{task.source}: could not be parsed", task.path, task.source)
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
        tally = Tally(self.progress)
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
        tally = Tally(self.progress)
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
