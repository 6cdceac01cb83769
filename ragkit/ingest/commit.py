"""The write protocol: one batch of chunked documents committed as one generation (graph, embed, vectors,
manifest, publish), each step a phase reported to ``on_phase`` (the phases and what a crash in each
leaves: :mod:`ragkit.ingest`). The store's side of each step (mark dirty, upsert vectors, swap and
bump, publish, recover) is :mod:`ragkit.store.commit`; this module chunks, embeds and orders them."""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphs.build import GraphBuilder
from ragkit.chunking import StructuredChunker, text_hash
from ragkit.executors.base import Executor
from ragkit.ingest.report import PhaseHook, Progress, Tally
from ragkit.store import Store
from ragkit.store import commit as protocol
from ragkit.types import Chunk, ConnectorOptions, Document

EMBED_BATCH = 256


def graph_builder(config: Any) -> GraphBuilder:
    """The store config's graph builder, its optional LLM extraction backed by the config's generator
    (built on the first LLM call)."""

    def make_llm() -> Any:
        from ragkit.generation import make_generator

        return make_generator(config.generator)

    return GraphBuilder(config.graph, make_llm)


class Committer:
    """The write protocol of one store: chunk, embed (cached by text hash), commit, publish.

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
        self.graph = graph or graph_builder(store.config)
        self.llm_usage: dict[str, Any] | None = None  # LLM extraction usage of the last index call
        self.executor: Executor = executor or LocalExecutor(embedder)
        self._owns_executor = executor is None
        self.batch_files = max(1, int(store.config.ingest.batch_files))
        self.batch_bytes = max(1, int(store.config.ingest.batch_bytes))

    def vector_key(self, text: str) -> str:
        return text_hash(self.salt + "\x00" + text)

    def settings(self) -> dict[str, Any]:
        return {"embedder": self.embedder.settings(), "chunker": self.chunker.settings()}

    def write(
        self,
        docs: list[tuple[Document, str | None]],
        deletes: list[str],
        failures: dict[str, tuple[str | None, str]],
        cleared: list[str],
        tally: Tally | None = None,
        total: int | None = None,
        labels: dict[str, tuple[list[str], list[str]]] | None = None,
    ) -> int:
        """Chunk documents, then :meth:`commit_batch` them with ``deletes``. Returns chunks written."""
        tally = tally or Tally(self.progress)
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
        tally: Tally | None = None,
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
        tally = tally or Tally(self.progress)
        if not docs and not deletes and not failures and not cleared and not labels:
            return 0
        upserts = self._keyed(docs)
        graph = self.graph.run([(doc, chunks) for doc, _, chunks, _ in upserts], tally.scoped("graph"))  # before the commit
        usage = self.graph.take_usage()
        if usage:  # tokens are spent even if the commit fails: account for them now
            from graphs.llm import LLMUsage
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
        protocol.begin(store)
        ids = [c.chunk_id for _, _, chunks, _ in upserts for c in chunks]
        if ids:
            matrix = np.stack([vectors[h] for _, _, _, hashes in upserts for h in hashes])
            tally.report("store", tally.done["store"], tally.total["store"] + len(ids))
            protocol.upsert_vectors(store, ids, matrix)

        # 3. manifest: one transaction swaps this batch's documents and chunks
        self.on_phase("manifest")
        protocol.commit(store, upserts, deletes, failures, cleared, self.settings(), graph, labels=labels,
                        given_meta=given_meta)

        # 4. derived stores: stale collections and vectors out, lexical index for the new generation
        self.publish()
        tally.step("store", tally.total["store"], len(ids))
        return len(ids)

    def _chunk(
        self, docs: Sequence[tuple[Document, str | None]], tally: Tally | None, total: int
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
        self, docs: Sequence[tuple[Document, str | None, list[Chunk], list[str]]], tally: Tally
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
        lexical index of the committed generation (:func:`ragkit.store.commit.publish`)."""
        protocol.publish(self.store, self.on_phase)

    def repair(self, cheap: bool = True) -> Any:
        """Check the derived stores against the manifest and restore what differs; ``cheap`` (the
        default, run before every write) skips comparing every vector and lexical scores."""
        from ragkit.integrity import repair

        return repair(self.store, self.embedder, self.chunker.embed_text, cheap=cheap)


def record_llm_usage(store: Store, db: sqlite3.Connection, usage: dict[str, Any]) -> dict[str, Any]:
    """Add one run's LLM extraction usage to the store's running total (meta ``graph_llm_usage``,
    reported by ``graph stats``), in the caller's transaction."""
    from graphs.llm import LLMUsage

    total = LLMUsage()
    total.add(store.get_meta("graph_llm_usage") or {})
    total.add(usage)
    total.exhausted = bool(usage.get("exhausted"))  # the last run's
    total.budget_tokens = int(usage.get("budget_tokens", total.budget_tokens))
    store.set_meta(db, "graph_llm_usage", total.to_dict())
    return total.to_dict()
