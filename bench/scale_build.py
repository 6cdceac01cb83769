"""bench/scale.py's synthesized store: the real sentences and queries, the seeded chunks and vectors, and
the ``build`` and ``vectors`` subcommands that bulk-write them (see bench/scale.py's docstring).

A helper module of bench/scale.py (no ``main``: not a bench of its own).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench import harness
from ragkit.store import commit as commit_protocol

DATA = harness.SHARED_DATA
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")
CHUNKS_PER_DOC = 10
BATCH = 20_000
CORPUS_ROOT = "/ragkit-scale-corpus"  # doc ids of the bulk documents (no such folder on disk)


log = harness.log


def sentences(data: Path) -> list[str]:
    """Distinct real sentences: SciFact titles and abstract sentences, HotpotQA paragraph sentences."""
    seen: dict[str, None] = {}
    for doc in harness.read_jsonl(data / "scifact" / "corpus.jsonl.gz"):
        seen.setdefault(doc["title"].strip(), None)
        for s in _SENTENCE.split(doc["text"]):
            if len(s.split()) >= 4:
                seen.setdefault(s.strip(), None)
    hotpot = data / "hotpotqa_dev_subset"
    for row in harness.read_jsonl(hotpot / "hotpotqa_dev_ircot500.jsonl"):
        for ctx in row["contexts"]:
            for s in _SENTENCE.split(ctx["paragraph_text"]):
                if len(s.split()) >= 4:
                    seen.setdefault(" ".join(s.split()), None)
    for row in harness.read_jsonl(hotpot / "hotpotqa_dev_distractor_raw200.jsonl"):
        for _, sents in row["context"]:
            for s in sents:
                if len(s.split()) >= 4:
                    seen.setdefault(" ".join(s.split()), None)
    return list(seen)


def queries(data: Path, n: int) -> list[str]:
    """Real questions: HotpotQA questions and SciFact-style claims (the titles' sentences are not used)."""
    out: list[str] = []
    with open(data / "hotpotqa_dev_subset" / "hotpotqa_dev_ircot500.jsonl", encoding="utf-8") as fh:
        for line in fh:
            out.append(json.loads(line)["question_text"])
    claims = data / "scifact" / "queries.jsonl.gz"
    if claims.exists():
        with gzip.open(claims, "rt", encoding="utf-8") as fh:
            out.extend(json.loads(line)["text"] for line in fh)
    rng = np.random.default_rng(3)
    rng.shuffle(out)
    return out[:n]


def sentence_vectors(count: int, dim: int, seed: int = 11) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((count, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _bulk_batches(size: int, sents: list[str], svec: np.ndarray, indexer: Any) -> Any:
    """The bulk store's content, ``BATCH`` chunks at a time: (manifest upserts, chunk ids, vectors).
    Seeded by ``size``, so every call with the same size and data yields the same chunks and vectors."""
    from ragkit.chunking import chunk_id
    from ragkit.types import Chunk, Document

    chunker = indexer.chunker
    rng = np.random.default_rng(size)
    n_docs = (size + CHUNKS_PER_DOC - 1) // CHUNKS_PER_DOC
    for start in range(0, n_docs, BATCH // CHUNKS_PER_DOC):
        upserts = []
        ids: list[str] = []
        vecs: list[np.ndarray] = []
        for j in range(start, min(n_docs, start + BATCH // CHUNKS_PER_DOC)):
            n = min(CHUNKS_PER_DOC, size - j * CHUNKS_PER_DOC)
            pairs = rng.integers(0, len(sents), size=(n, 2))
            texts = [f"{sents[a]} {sents[b]}" for a, b in pairs]
            doc_id = f"{CORPUS_ROOT}/d{j // 1000:04d}/doc-{j:07d}.txt"
            text = "\n\n".join(texts)
            doc = Document(doc_id=doc_id, source=doc_id, text=text, format="text",
                           content_hash=hashlib.sha256(text.encode()).hexdigest())
            chunks, hashes, pos = [], [], 0
            for o, t in enumerate(texts):
                c = Chunk(chunk_id=chunk_id(doc_id, o, t), doc_id=doc_id, source=doc_id, text=t, ordinal=o,
                          span=(pos, pos + len(t)), content_hash=doc.content_hash)
                pos += len(t) + 2
                chunks.append(c)
                hashes.append(indexer.vector_key(chunker.embed_text(c)))
            upserts.append((doc, CORPUS_ROOT, chunks, hashes))
            ids.extend(c.chunk_id for c in chunks)
            v = svec[pairs[:, 0]] + svec[pairs[:, 1]]
            vecs.append(v / np.linalg.norm(v, axis=1, keepdims=True))
        yield upserts, ids, np.concatenate(vecs)


def build(size: int, out: Path, data: Path, hnsw: dict[str, Any] | None = None, vectors: bool = True) -> dict[str, Any]:
    """Bulk-write a store of ``size`` chunks (see the module docstring); ``hnsw`` overrides the vector
    store's HNSW settings (saved in the store's config, so every later reader uses them)."""
    import ragkit
    from ragkit.config import Config

    if out.exists():
        shutil.rmtree(out)
    started = time.perf_counter()
    sents = sentences(data)
    log(f"{len(sents)} distinct sentences")
    config = Config()
    config.vector_store.hnsw.update(hnsw or {})
    kit = ragkit.open(out, config)
    store = kit.store
    indexer = kit._indexer(None)
    settings = indexer.settings()
    dim = int(settings["embedder"].get("dim") or 384)
    done = 0
    timings = {"manifest": 0.0, "vectors": 0.0, "lexical": 0.0}
    for upserts, ids, vecs in _bulk_batches(size, sents, sentence_vectors(len(sents), dim), indexer):
        t0 = time.perf_counter()
        if vectors:
            store.vectors.upsert(ids, vecs)
        t1 = time.perf_counter()
        commit_protocol.commit(store, upserts, [], {}, [], settings)
        t2 = time.perf_counter()
        timings["vectors"] += t1 - t0
        timings["manifest"] += t2 - t1
        done += len(ids)
        log(f"{done}/{size} chunks ({time.perf_counter() - started:.0f}s)")
    t0 = time.perf_counter()
    store.save_lexical()
    with store.transaction() as db:
        store.set_meta(db, "dirty", False)
    timings["lexical"] = time.perf_counter() - t0
    kit.close()
    return {"size": size, "store": str(out), "sentences": len(sents), "seconds": round(time.perf_counter() - started, 1),
            "parts_seconds": {k: round(v, 1) for k, v in timings.items()}, "vectors": "synthesized (see docstring)" if vectors else "none (--no-vectors: a lexical-only store)",
            "hnsw": dict(config.vector_store.hnsw)}


def add_vectors(store_dir: Path, size: int, data: Path, hnsw: dict[str, Any] | None = None) -> dict[str, Any]:
    """Give a ``build --no-vectors`` store of ``size`` chunks the vectors ``build`` would have written
    (the same seeded chunks, so the same ids), instead of building the store again."""
    import ragkit
    from ragkit.config import Config

    started = time.perf_counter()
    sents = sentences(data)
    config = Config.load(store_dir)
    config.vector_store.hnsw.update(hnsw or {})
    kit = ragkit.open(store_dir, config)
    indexer = kit._indexer(None)
    dim = int(indexer.settings()["embedder"].get("dim") or 384)
    stored = kit.store.count_chunks()
    done = 0
    for _, ids, vecs in _bulk_batches(size, sents, sentence_vectors(len(sents), dim), indexer):
        kit.store.vectors.upsert(ids, vecs)
        done += len(ids)
        log(f"{done}/{size} vectors ({time.perf_counter() - started:.0f}s)")
    count = kit.store.vectors.count()
    kit.close()
    if count != stored:
        raise SystemExit(f"{store_dir}: {count} vectors for {stored} chunks (was the store built with --size {size}?)")
    return {"size": size, "store": str(store_dir), "vectors": count, "seconds": round(time.perf_counter() - started, 1),
            "hnsw": dict(config.vector_store.hnsw)}


def _file_text(sents: list[str], rng: np.random.Generator) -> str:
    """A new file's text: 8 paragraphs of 3 random real sentences."""
    return "\n\n".join(" ".join(sents[int(i)] for i in rng.integers(0, len(sents), 3)) for _ in range(8))


def _one_doc(sents: list[str], rng: np.random.Generator, doc_id: str, settings_from: Any) -> tuple[Any, ...]:
    from ragkit.chunking import chunk_id
    from ragkit.types import Chunk, Document

    texts = [" ".join(sents[int(i)] for i in rng.integers(0, len(sents), 2)) for _ in range(CHUNKS_PER_DOC)]
    text = "\n\n".join(texts)
    doc = Document(doc_id=doc_id, source=doc_id, text=text, format="text",
                   content_hash=hashlib.sha256(text.encode()).hexdigest())
    chunks, pos = [], 0
    for o, t in enumerate(texts):
        chunks.append(Chunk(chunk_id=chunk_id(doc_id, o, t), doc_id=doc_id, source=doc_id, text=t, ordinal=o,
                            span=(pos, pos + len(t)), content_hash=doc.content_hash))
        pos += len(t) + 2
    return doc, CORPUS_ROOT, chunks, [hashlib.sha256(c.text.encode()).hexdigest() for c in chunks]
