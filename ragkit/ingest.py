"""Folder → changes (add / update / delete by content hash) → store, atomically and resumably.

The write protocol (``Indexer.write``), each step a phase reported to ``on_phase``:
1. ``parse``, ``chunk``, ``embed``: read the changed files, chunk them, embed what the embedding cache
   lacks (each batch cached durably, so a rerun resumes).
2. ``vectors``: upsert the new chunks' vectors into chroma; ids not yet in the manifest are invisible
   to readers.
3. ``manifest``: one SQLite transaction swaps documents and chunks and bumps the generation.
4. ``delete``: stale collections and vectors out; ``lexical``: the lexical index of the new generation
   is written beside the old one and published by an atomic rename.
A crash at any point leaves the last committed generation readable; the next write first repairs the
derived stores (:mod:`ragkit.integrity`, its cheap part) and then completes the work.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from graphs.build import GraphBuilder
from ragkit.chunking import StructuredChunker, text_hash
from ragkit.executors.base import Executor, FileTask
from ragkit.store import Store
from ragkit.types import Chunk, ConnectorOptions, Document

Progress = Callable[[str, int, int | None], None]
PhaseHook = Callable[[str], None]
EMBED_BATCH = 256
PHASES = ("parse", "chunk", "embed", "vectors", "manifest", "delete", "lexical")


@dataclass
class IndexReport:
    """What one ``index`` call changed (files) and wrote (chunks), and which files failed."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    chunks: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
        self.graph = GraphBuilder(store.config.graph)
        self.executor: Executor = executor or LocalExecutor(embedder)

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
    ) -> IndexReport:
        """Index files under ``paths``: add new, update changed, delete vanished, skip unchanged.

        ``include``/``exclude`` choose which files are read; a stored document they filter out stays.
        Only documents whose file is gone from disk are deleted.
        """
        from connectors.base import content_hash
        from connectors.folder import iter_files

        meta = dict(meta or {})
        report = IndexReport()
        roots = [Path(p).expanduser().resolve() for p in paths]
        known = self.store.doc_hashes()
        known_meta = {d["doc_id"]: d["metadata"] for d in self.store.documents()}
        seen: set[str] = set()
        work: list[FileTask] = []
        for root in roots:
            if not root.exists():
                if any(_under(doc_id, root) for doc_id in known):
                    continue  # the whole root vanished: its documents are deleted below
                raise FileNotFoundError(f"{root}: no such file or directory")
            for path in iter_files([root], include=include, exclude=exclude, skip_dirs=[self.store.path.resolve()]):
                source = str(path)
                if source in seen:
                    continue
                seen.add(source)
                try:
                    data = path.read_bytes()
                except OSError as exc:
                    report.failed.append({"path": source, "error": f"{source}: cannot read: {exc.strerror or exc}"})
                    continue
                digest = content_hash(data)
                previous = known.get(source)
                if previous and previous[0] == digest and _meta_matches(known_meta.get(source, {}), meta):
                    report.unchanged += 1
                    continue
                work.append(FileTask(str(root), str(path), source, digest, len(data)))
        deletes = [
            doc_id for doc_id in known
            if doc_id not in seen and any(_under(doc_id, r) for r in roots) and not os.path.lexists(doc_id)
        ]

        docs: list[tuple[Document, str | None]] = []
        chunked: dict[str, tuple[list[Chunk], list[str]]] = {}
        failures: dict[str, tuple[str | None, str]] = {}
        if work:
            self.on_phase("parse")
        self.progress("parse", 0, len(work))
        for i, prepared in enumerate(self.executor.parse_chunk(work, self.options, self.chunker), 1):
            task, doc = prepared.task, prepared.document
            if doc is None:
                failures[task.source] = (task.root, prepared.error or f"{task.source}: not parsed")
            else:
                doc.content_hash = task.digest
                doc.metadata = {**doc.metadata, **meta}
                docs.append((doc, task.root))
                chunked[doc.doc_id] = (prepared.chunks, prepared.embed_texts)
            self.progress("parse", i, len(work))
        for source, (_, error) in failures.items():
            report.failed.append({"path": source, "error": error})
        for doc, _ in docs:
            if doc.doc_id in known:
                report.updated += 1
            else:
                report.added += 1
        report.deleted = len(deletes)
        previously_failed = {f["path"] for f in self.store.failures()}
        cleared = [p for p in list(seen) + deletes if p in previously_failed and p not in failures]
        report.chunks = self.write(docs, deletes, failures, cleared, chunked=chunked)
        return report

    def add_documents(self, documents: Sequence[Document], root: str | None = None) -> IndexReport:
        """Index documents built in code (e.g. a BEIR corpus); a doc_id already stored with the same
        content hash is skipped, with another hash it is replaced."""
        known = self.store.doc_hashes()
        report = IndexReport()
        docs = []
        for doc in documents:
            previous = known.get(doc.doc_id)
            if previous and previous[0] == doc.content_hash:
                report.unchanged += 1
                continue
            report.updated += 1 if previous else 0
            report.added += 0 if previous else 1
            docs.append((doc, root))
        report.chunks = self.write(docs, [], {}, [])
        return report

    # -- the commit protocol ------------------------------------------------------------------------

    def write(
        self,
        docs: list[tuple[Document, str | None]],
        deletes: list[str],
        failures: dict[str, tuple[str | None, str]],
        cleared: list[str],
        collection: str | None = None,
        chunked: dict[str, tuple[list[Chunk], list[str]]] | None = None,
    ) -> int:
        """Chunk, embed, upsert vectors, commit the manifest, publish derived stores. Returns chunks.

        With ``collection`` the vectors go to that (new) collection, which the commit makes current;
        ``chunked`` holds the chunks and embedded texts the executor already made, by doc_id.
        """
        store = self.store
        vectors_out = store.vector_collection(collection) if collection else store.vectors
        if not docs and not deletes and not failures and not cleared:
            return 0
        upserts: list[tuple[Document, str | None, list[Chunk], list[str]]] = []
        by_hash: dict[str, str] = {}
        if docs:
            self.on_phase("chunk")
        for i, (doc, root) in enumerate(docs):
            self.progress("chunk", i, len(docs))
            if chunked and doc.doc_id in chunked:
                chunks, texts = chunked[doc.doc_id]
            else:
                chunks = self.chunker.run(doc)
                texts = [self.chunker.embed_text(c) for c in chunks]
            hashes = [self.vector_key(t) for t in texts]
            by_hash.update(zip(hashes, texts))
            upserts.append((doc, root, chunks, hashes))
        self.progress("chunk", len(docs), len(docs))
        graph = self.graph.run([(doc, chunks) for doc, _, chunks, _ in upserts], self.progress)  # before the commit

        # 1. embed what the cache lacks (each batch cached durably: a rerun resumes)
        vectors = store.cached_vectors(by_hash)
        todo = sorted((h for h in by_hash if h not in vectors), key=lambda h: len(by_hash[h]))
        total = len(todo)
        if todo:
            self.on_phase("embed")
        for start in range(0, total, EMBED_BATCH):
            self.progress("embed", start, total)
            part = todo[start : start + EMBED_BATCH]
            embedded = self.executor.embed([by_hash[h] for h in part])
            fresh = dict(zip(part, embedded))
            store.cache_vectors(fresh)
            vectors.update(fresh)
        self.progress("embed", total, total)

        # 2. vector store: new ids are invisible until the manifest commits them
        self.on_phase("vectors")
        with store.transaction() as db:
            store.set_meta(db, "dirty", True)
        ids = [c.chunk_id for _, _, chunks, _ in upserts for c in chunks]
        if ids:
            matrix = np.stack([vectors[h] for _, _, _, hashes in upserts for h in hashes])
            self.progress("store", 0, len(ids))
            vectors_out.upsert(ids, matrix)

        # 3. manifest: one transaction swaps documents and chunks
        self.on_phase("manifest")
        settings = self.settings() | ({"collection": collection} if collection else {})
        store.commit(upserts, deletes, failures, cleared, settings, graph)

        # 4. derived stores: stale collections and vectors out, lexical index for the new generation
        self.publish()
        self.progress("store", len(ids), len(ids))
        return len(ids)

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
        store.save_lexical()
        with store.transaction() as db:
            store.set_meta(db, "dirty", False)

    def repair(self, cheap: bool = True) -> Any:
        """Check the derived stores against the manifest and restore what differs; ``cheap`` (the
        default, run before every write) skips comparing every vector and lexical scores."""
        from ragkit.integrity import repair

        return repair(self.store, self.embedder, self.chunker.embed_text, cheap=cheap)


def _under(doc_id: str, root: Path) -> bool:
    r = str(root)
    return doc_id == r or doc_id.startswith(r.rstrip(os.sep) + os.sep)


def _meta_matches(stored: dict[str, Any], meta: dict[str, Any]) -> bool:
    return all(str(stored.get(k)) == str(v) for k, v in meta.items())
