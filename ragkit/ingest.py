"""Folder → changes (add / update / delete by content hash) → store, atomically and resumably."""
from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from connectors.base import ConnectorError, content_hash
from graphs.build import GraphBuilder
from ragkit.chunking import StructuredChunker, text_hash
from ragkit.store import Store
from ragkit.types import Chunk, Document

Progress = Callable[[str, int, int | None], None]
EMBED_BATCH = 256


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


def checkpoint(phase: str) -> None:
    """Fault injection for the durability tests: ``RAGKIT_CRASH_AT=phase[:n]`` kills the process with
    SIGKILL the n-th time (default 1st) it reaches ``phase``."""
    spec = os.environ.get("RAGKIT_CRASH_AT")
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != phase:
        return
    count = int(os.environ.get("_RAGKIT_CRASH_COUNT", "0")) + 1
    os.environ["_RAGKIT_CRASH_COUNT"] = str(count)
    if count >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def embed_text(chunk: Chunk) -> str:
    """What the embedder sees: the heading path as context, then the chunk."""
    heading = chunk.heading
    if heading and not chunk.text.startswith(chunk.heading_path[-1]):
        return f"{heading}\n{chunk.text}"
    return chunk.text


class Indexer:
    """Writes documents into a store: chunk, embed (cached by text hash), commit, publish."""

    def __init__(self, store: Store, embedder: Any, chunker: StructuredChunker, progress: Progress | None = None):
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.progress = progress or (lambda stage, done, total: None)
        # cache keys are salted with the embedder, so vectors of another model are never reused
        self.salt = json.dumps(embedder.settings(), sort_keys=True)
        self.graph = GraphBuilder(store.config.graph)

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
        """Index files under ``paths``: add new, update changed, delete vanished, skip unchanged."""
        from connectors.folder import iter_files
        from connectors.registry import load

        meta = dict(meta or {})
        report = IndexReport()
        roots = [Path(p).expanduser().resolve() for p in paths]
        known = self.store.doc_hashes()
        known_meta = {d["doc_id"]: d["metadata"] for d in self.store.documents()}
        seen: set[str] = set()
        work: list[tuple[Path, Path, str, bytes, str]] = []
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
                work.append((root, path, source, data, digest))
        deletes = [doc_id for doc_id in known if any(_under(doc_id, r) for r in roots) and doc_id not in seen]

        docs: list[tuple[Document, str | None]] = []
        failures: dict[str, tuple[str | None, str]] = {}
        for i, (root, path, source, data, digest) in enumerate(work):
            self.progress("parse", i, len(work))
            try:
                with _image_dir(self.store.path / "images"):
                    doc = load(path, source)
            except ConnectorError as exc:
                failures[source] = (str(root), str(exc))
                continue
            except Exception as exc:  # a connector bug must not abort a folder ingest
                failures[source] = (str(root), f"{source}: {type(exc).__name__}: {exc}")
                continue
            checkpoint("parse")
            doc.content_hash = digest
            doc.metadata = {**doc.metadata, **meta}
            docs.append((doc, str(root)))
        self.progress("parse", len(work), len(work))
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
        report.chunks = self.write(docs, deletes, failures, cleared)
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
    ) -> int:
        """Chunk, embed, upsert vectors, commit the manifest, publish derived stores. Returns chunks.

        With ``collection`` the vectors go to that (new) collection, which the commit makes current.
        """
        store = self.store
        vectors_out = store.vector_collection(collection) if collection else store.vectors
        if not docs and not deletes and not failures and not cleared:
            self.reconcile()
            return 0
        upserts: list[tuple[Document, str | None, list[Chunk], list[str]]] = []
        for i, (doc, root) in enumerate(docs):
            self.progress("chunk", i, len(docs))
            chunks = self.chunker.run(doc)
            texts = [embed_text(c) for c in chunks]
            upserts.append((doc, root, chunks, [self.vector_key(t) for t in texts]))
        self.progress("chunk", len(docs), len(docs))
        graph = self.graph.run([(doc, chunks) for doc, _, chunks, _ in upserts], self.progress)  # before the commit

        # 1. vectors: embed what the cache lacks (each batch cached durably: a rerun resumes)
        by_hash: dict[str, str] = {}
        for _, _, chunks, hashes in upserts:
            for c, h in zip(chunks, hashes):
                by_hash.setdefault(h, embed_text(c))
        vectors = store.cached_vectors(by_hash)
        todo = sorted((h for h in by_hash if h not in vectors), key=lambda h: len(by_hash[h]))
        total = len(todo)
        for start in range(0, total, EMBED_BATCH):
            self.progress("embed", start, total)
            part = todo[start : start + EMBED_BATCH]
            embedded = self.embedder.embed([by_hash[h] for h in part])
            fresh = dict(zip(part, embedded))
            store.cache_vectors(fresh)
            vectors.update(fresh)
            checkpoint("embed")
        self.progress("embed", total, total)

        # 2. vector store: new ids are invisible until the manifest commits them
        with store.transaction() as db:
            store.set_meta(db, "dirty", True)
        ids = [c.chunk_id for _, _, chunks, _ in upserts for c in chunks]
        if ids:
            matrix = np.stack([vectors[h] for _, _, _, hashes in upserts for h in hashes])
            self.progress("store", 0, len(ids))
            vectors_out.upsert(ids, matrix)
        checkpoint("vectors")

        # 3. manifest: one transaction swaps documents and chunks
        settings = self.settings() | ({"collection": collection} if collection else {})
        store.commit(upserts, deletes, failures, cleared, settings, graph)
        checkpoint("manifest")

        # 4. derived stores: stale vectors out, lexical index for the new generation
        self.publish()
        self.progress("store", len(ids), len(ids))
        return len(ids)

    def publish(self) -> None:
        store = self.store
        if store.get_meta("collection"):
            store.vectors.drop_other_collections()
        pending = [r[0] for r in store.db.execute("SELECT chunk_id FROM pending_deletes")]
        if pending:
            store.vectors.delete(pending)
            checkpoint("delete")
            with store.transaction() as db:
                db.executemany("DELETE FROM pending_deletes WHERE chunk_id=?", [(c,) for c in pending])
        store.save_lexical()
        checkpoint("lexical")
        with store.transaction() as db:
            store.set_meta(db, "dirty", False)

    def reconcile(self) -> dict[str, int]:
        """Repair the derived stores after an interrupted write: drop vectors the manifest doesn't
        hold, restore the ones it holds (from the embedding cache), rewrite the lexical index."""
        store = self.store
        if store.get_meta("dirty", False):
            store.vectors.drop_other_collections()
        else:
            current = store.path / "lexical" / "CURRENT"
            if store.generation == 0 or (current.exists() and current.read_text().strip() == f"gen-{store.generation}"):
                return {"restored": 0, "removed": 0}
        missing, orphans = store.missing_vector_ids()
        if orphans:
            store.vectors.delete(orphans)
        if missing:
            info = store.chunk_text_hashes(missing)
            cached = store.cached_vectors(h for h, _ in info.values())
            lacking = {h: t for h, t in info.values() if h not in cached}
            if lacking:
                hashes = list(lacking)
                cached.update(zip(hashes, self.embedder.embed([lacking[h] for h in hashes])))
            store.vectors.upsert(missing, np.stack([cached[info[c][0]] for c in missing]))
        self.publish()
        return {"restored": len(missing), "removed": len(orphans)}


@contextmanager
def _image_dir(path: Path) -> Iterator[None]:
    """Connectors keep rendered page images of OCR'd pages here (the path goes in provenance)."""
    previous = os.environ.get("RAGKIT_IMAGE_DIR")
    os.environ["RAGKIT_IMAGE_DIR"] = previous or str(path.resolve())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("RAGKIT_IMAGE_DIR", None)


def _under(doc_id: str, root: Path) -> bool:
    r = str(root)
    return doc_id == r or doc_id.startswith(r.rstrip(os.sep) + os.sep)


def _meta_matches(stored: dict[str, Any], meta: dict[str, Any]) -> bool:
    return all(str(stored.get(k)) == str(v) for k, v in meta.items())
