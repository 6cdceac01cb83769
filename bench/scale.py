"""Scale benchmark: what a 1-file commit, a query and a cold open cost in stores of 10k, 100k and 1M chunks.

    nice -n 10 .venv/bin/python bench/scale.py build --size 1000000 --out /tmp/ragkit-scale/s1000000
    # or: build --no-vectors first (manifest + lexical index, for `lexical`), then add the vectors:
    nice -n 10 .venv/bin/python bench/scale.py vectors --store /tmp/ragkit-scale/s1000000 --size 1000000
    nice -n 10 .venv/bin/python bench/scale.py measure --store /tmp/ragkit-scale/s1000000 --json out.json
    .venv/bin/python bench/scale.py plot RESULTS.json... --png docs/scale.png
    .venv/bin/python bench/scale.py catchup --store STORE [--full]   # a lost lexical publish, caught up
    .venv/bin/python bench/scale.py reader --store STORE   # an open reader's queries after another's commit
    .venv/bin/python bench/scale.py ingest [--chroma-server] ...   # = bench/stream_ingest.py: peak RSS of
                                                                    # `ragkit index` on 10k vs 100k files

``build`` writes a store of N chunks through the Store APIs in large batches (the bulk path: manifest rows
committed 20k chunks at a time with ``Store.commit``, vectors upserted into chroma with
``ChromaVectorStore.upsert``, one lexical build at the end) instead of running ``ragkit index`` over N
files, which on 2 shared cores would take days. The store is a normal ragkit store afterwards (the
measures below run the normal code paths on it).

Chunk texts are real: every chunk is two sentences of real text (SciFact abstracts and titles, HotpotQA
paragraph sentences, from /work/shared/data), picked pseudo-randomly (seeded) from the ~90k distinct
sentences, so 1M distinct chunks exist with a real vocabulary and real term statistics. Ten chunks make one
document. Chunk VECTORS are synthesized, not computed: each sentence gets a seeded random unit vector of
the embedder's dimension and a chunk gets the normalized sum of its two sentences' vectors (chunks sharing
a sentence are neighbours, as in real data). Embedding 1M texts with MiniLM on this machine would take
about a day. Query latencies include a real MiniLM query embedding; dense result quality on synthesized
vectors is meaningless and not reported (quality is measured by ``ragkit eval``, docs/benchmarks.md).

``measure`` times, on the built store, in this process with a warm Kit: committing a 1-file change (add
a new file, update it, delete it; each through ``Kit.index`` with the file's path, cheap repair included,
three repetitions after a warm-up round, median; new random texts each run, so no embedding is cached),
query p50/p95 per mode (lexical, dense, hybrid interleaved after 20 warm-up queries each; HotpotQA
questions, and SciFact claims where present; query embedding included), cold open (a fresh process: open the store and answer one lexical
query), peak RSS of that query process and disk size per part.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

ROOT = harness.ROOT

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = harness.SHARED_DATA
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")
CHUNKS_PER_DOC = 10
BATCH = 20_000
WARMUP = 20  # queries per mode before the timed ones
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
        store.commit(upserts, [], {}, [], settings)
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


def _median(xs: list[float]) -> float:
    return round(statistics.median(xs), 4) if xs else float("nan")


def _pct(xs: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(xs), q)), 4) if xs else float("nan")


def disk_sizes(store: Path) -> dict[str, int]:
    def size(p: Path) -> int:
        if p.is_file():
            return p.stat().st_size
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.exists() else 0

    manifest = sum(size(store / n) for n in ("manifest.sqlite", "manifest.sqlite-wal", "manifest.sqlite-shm"))
    return {"manifest": manifest, "vectors": size(store / "vectors"), "lexical": size(store / "lexical")}


def _file_text(sents: list[str], rng: np.random.Generator) -> str:
    """A new file's text: 8 paragraphs of 3 random real sentences."""
    return "\n\n".join(" ".join(sents[int(i)] for i in rng.integers(0, len(sents), 3)) for _ in range(8))


def commit_costs(store: Path, data: Path, reps: int) -> dict[str, Any]:
    """Median seconds of ``Kit.index(file)`` adding, updating and deleting one file, with phase times."""
    import ragkit

    kit = ragkit.open(store)
    t0 = time.perf_counter()
    kit.store.save_lexical()  # a store in main's lexical format is converted once here (timed apart)
    with kit.store.transaction() as db:
        kit.store.set_meta(db, "dirty", False)
    prepare = time.perf_counter() - t0
    sents = sentences(data)
    # texts no earlier run wrote: the embedding cache must not make one store's commits cheaper
    rng = np.random.default_rng(time.time_ns())
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"ragkit-scale-file-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    phases: dict[str, list[dict[str, float]]] = {"add": [], "update": [], "delete": []}
    times: dict[str, list[float]] = {"add": [], "update": [], "delete": []}

    for rep in range(reps + 1):  # the first round warms up (models, caches) and is not counted
        path = folder / f"change-{rep}.txt"
        for action in ("add", "update", "delete"):
            if action == "add":
                path.write_text(_file_text(sents, rng))
            elif action == "update":
                path.write_text(path.read_text() + "\n\n" + _file_text(sents, rng))
            else:
                path.unlink()
            marks: list[tuple[str, float]] = []
            start = time.perf_counter()
            report = kit.index([path], on_phase=lambda name: marks.append((name, time.perf_counter())))
            took = time.perf_counter() - start
            assert report.added + report.updated + report.deleted == 1, report
            if rep:
                times[action].append(took)
                points = [("repair+scan", start)] + marks + [("end", start + took)]
                phases[action].append({a: b2 - b1 for (a, b1), (_, b2) in zip(points, points[1:])})
    shutil.rmtree(folder, ignore_errors=True)
    kit.close()
    out: dict[str, Any] = {"prepare_s": round(prepare, 3)}
    for action in times:
        out[f"{action}_s"] = _median(times[action])
        out[f"{action}_all_s"] = [round(t, 4) for t in times[action]]
        keys = sorted({k for p in phases[action] for k in p})
        out[f"{action}_phases_s"] = {k: _median([p.get(k, 0.0) for p in phases[action]]) for k in keys}
    return out


def query_process(store: Path, data: Path, n: int) -> dict[str, Any]:
    """Run in a fresh process: cold open, then query latencies per mode and the process's peak RSS."""
    import resource

    t0 = time.perf_counter()
    import ragkit

    imported = time.perf_counter()
    kit = ragkit.open(store)
    all_qs = queries(data, 3 * n + WARMUP)
    first = kit.search(all_qs[-1], k=10, mode="lexical")
    cold = time.perf_counter() - imported
    assert first, "the lexical query found nothing"
    out: dict[str, Any] = {"import_s": round(imported - t0, 3), "cold_open_s": round(cold, 3), "chunks": kit.store.count_chunks()}
    modes = ("lexical", "dense", "hybrid")
    for q in all_qs[-WARMUP:]:
        for mode in modes:
            kit.search(q, k=10, mode=mode)  # warm-up: models, the vector index and the pages queries touch
    lat: dict[str, list[float]] = {mode: [] for mode in modes}
    for i in range(n):  # modes interleaved, so a slower moment of the machine hits all three alike
        for j, mode in enumerate(modes):
            q = all_qs[3 * i + j]  # another question per mode: no query embedding is cached
            s = time.perf_counter()
            kit.search(q, k=10, mode=mode)
            lat[mode].append(time.perf_counter() - s)
    for mode, xs in lat.items():
        out[mode] = {"p50_ms": round(_pct(xs, 50) * 1000, 2), "p95_ms": round(_pct(xs, 95) * 1000, 2), "queries": len(xs)}
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    kit.close()
    return out


def reader_after_commit(store: Path, data: Path, reps: int) -> dict[str, Any]:
    """A reader that stays open (this process, one Kit, as a server keeps one) while a writer (``ragkit
    index`` in a child process) commits a 1-file change between its queries: the reader's first
    lexical query after each commit (it loads the new generation's index), its first dense query (an
    embedded chroma reloads the collection's whole HNSW index: chroma never shows one process's writes
    to another's loaded index, chroma#3792) and the next dense query (warm again), median of ``reps``."""
    import subprocess

    import ragkit

    kit = ragkit.open(store)
    qs = queries(data, 20 + 3 * reps)
    for q in qs[:20]:
        for mode in ("lexical", "dense"):
            kit.search(q, k=10, mode=mode)  # warm: the model, both indexes
    sents = sentences(data)
    rng = np.random.default_rng(time.time_ns())
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"ragkit-scale-reader-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    rows: list[dict[str, float]] = []
    for rep in range(reps):
        path = folder / f"commit-{rep}.txt"
        path.write_text(_file_text(sents, rng))
        subprocess.run([sys.executable, "-m", "ragkit.cli.main", "index", str(path), "--store", str(store), "--json",
                        "--quiet"], env=env, check=True, capture_output=True)
        row: dict[str, float] = {}
        for j, (name, mode) in enumerate((("lexical_first_s", "lexical"), ("dense_first_s", "dense"), ("dense_next_s", "dense"))):
            t0 = time.perf_counter()
            kit.search(qs[20 + 3 * rep + j], k=10, mode=mode)
            row[name] = round(time.perf_counter() - t0, 4)
        rows.append(row)
    shutil.rmtree(folder, ignore_errors=True)
    out: dict[str, Any] = {"store": str(store), "chunks": kit.store.count_chunks(), "reps": rows}
    for key in rows[0]:
        out[key] = _median([r[key] for r in rows])
    kit.close()
    return out


def measure(store: Path, data: Path, label: str, reps: int, n_queries: int) -> dict[str, Any]:
    out: dict[str, Any] = {"store": str(store), "label": label, "code": str(ROOT)}
    out["commit"] = commit_costs(store, data, reps)
    return _with_queries(out, "query", store, data, n_queries)


def _with_queries(out: dict[str, Any], command: str, store: Path, data: Path, n_queries: int) -> dict[str, Any]:
    """``out`` plus the query measures of ``command`` (query | lexical-query), run in a fresh process so
    its cold open and peak RSS are its own, the chunk count and the disk size per part."""
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), command, "--store", str(store), "--data", str(data),
         "--queries", str(n_queries)],
        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), check=False,
    )
    if proc.returncode:
        raise SystemExit(proc.stderr)
    out["query"] = json.loads(proc.stdout)
    out["chunks"] = out["query"]["chunks"]
    out["disk_bytes"] = disk_sizes(store)
    return out


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


def lexical_measure(store_path: Path, data: Path, label: str, reps: int, n_queries: int,
                    actions: Sequence[str] = ("add", "update", "delete")) -> dict[str, Any]:
    """For a --no-vectors store: the lexical part of a 1-document commit (``Store.commit`` of the manifest
    transaction + ``Store.save_lexical``), add / update / delete, then lexical queries in a fresh process."""
    from ragkit.store import Store

    store = Store(store_path)
    t0 = time.perf_counter()
    store.save_lexical()
    prepare = time.perf_counter() - t0
    settings = {k: store.get_meta(k) for k in ("embedder", "chunker")}
    sents = sentences(data)
    rng = np.random.default_rng(9)
    times: dict[str, list[tuple[float, float]]] = {a: [] for a in actions}
    for rep in range(reps):
        doc_id = f"{CORPUS_ROOT}/changes/change-{rep}-{os.getpid()}.txt"
        for action in actions:
            ups = [] if action == "delete" else [_one_doc(sents, rng, doc_id, None)]
            dels = [doc_id] if action == "delete" else []
            t0 = time.perf_counter()
            store.commit(ups, dels, {}, [], settings)
            t1 = time.perf_counter()
            store.save_lexical()
            t2 = time.perf_counter()
            times[action].append((t1 - t0, t2 - t1))
    store.close()
    out: dict[str, Any] = {"store": str(store_path), "label": label, "code": str(ROOT), "prepare_s": round(prepare, 3)}
    for action, pairs in times.items():
        out[f"{action}_manifest_s"] = _median([a for a, _ in pairs])
        out[f"{action}_lexical_s"] = _median([b for _, b in pairs])
        out[f"{action}_lexical_all_s"] = [round(b, 4) for _, b in pairs]
    return _with_queries(out, "lexical-query", store_path, data, n_queries)


def catchup_measure(store_path: Path, data: Path, reps: int, full: bool) -> dict[str, Any]:
    """A 1-document commit whose lexical publish was lost (a crash between the manifest commit and the
    publish), then, each in a fresh Store as a new process would: a reader's first lexical query (the
    committed generation caught up in memory, ``Store.lexical``) and the next writer's publish
    (``Store.save_lexical``, the change read from the manifest). Before, both rebuilt the whole index
    from every chunk text; ``full`` times that too (``save_lexical(force=True)``) for the comparison."""
    import resource

    from ragkit.retrieval.lexical import LexicalRetriever
    from ragkit.store import Store

    store = Store(store_path)
    store.save_lexical()
    settings = {k: store.get_meta(k) for k in ("embedder", "chunker")}
    store.close()
    sents = sentences(data)
    rng = np.random.default_rng(11)
    qs = queries(data, 5)
    rows: list[dict[str, float]] = []
    for rep in range(reps):
        doc_id = f"{CORPUS_ROOT}/changes/catchup-{rep}-{os.getpid()}.txt"
        writer = Store(store_path)
        writer.commit([_one_doc(sents, rng, doc_id, None)], [], {}, [], settings)  # no publish: the "crash"
        writer.close()
        reader = Store(store_path)
        assert not reader.lexical_published()
        t0 = time.perf_counter()
        hits = LexicalRetriever(reader).run(qs[0], k=10)
        read_s = time.perf_counter() - t0
        assert hits and len(reader.lexical().ids) == reader.count_chunks()
        reader.close()
        writer = Store(store_path)
        t0 = time.perf_counter()
        how = writer.save_lexical()
        publish_s = time.perf_counter() - t0
        assert how == "delta" and writer.lexical_published()
        writer.close()
        rows.append({"reader_first_query_s": round(read_s, 3), "writer_publish_s": round(publish_s, 3)})
    out: dict[str, Any] = {"store": str(store_path), "code": str(ROOT), "reps": rows,
                           "reader_first_query_s": _median([r["reader_first_query_s"] for r in rows]),
                           "writer_publish_s": _median([r["writer_publish_s"] for r in rows])}
    if full:
        store = Store(store_path)
        t0 = time.perf_counter()
        store.build_lexical()  # what a reader of a lagging index did before: a bm25s build in memory
        out["reader_before_s"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        store.save_lexical(force=True)  # what the next writer did before
        out["writer_before_s"] = round(time.perf_counter() - t0, 3)
        store.close()
    store = Store(store_path)
    out["chunks"] = store.count_chunks()
    store.close()
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def lexical_query_process(store_path: Path, data: Path, n: int) -> dict[str, Any]:
    """Fresh process: cold open (Store + the lexical index + one query), lexical p50/p95, peak RSS."""
    import resource

    from ragkit.retrieval.lexical import LexicalRetriever
    from ragkit.store import Store

    t0 = time.perf_counter()
    store = Store(store_path)
    retriever = LexicalRetriever(store)
    qs = queries(data, n)
    assert retriever.run(qs[0], k=10)
    cold = time.perf_counter() - t0
    lat = []
    for q in qs:
        s = time.perf_counter()
        retriever.run(q, k=10)
        lat.append(time.perf_counter() - s)
    return {"cold_open_s": round(cold, 3), "chunks": store.count_chunks(),
            "lexical": {"p50_ms": round(_pct(lat, 50) * 1000, 2), "p95_ms": round(_pct(lat, 95) * 1000, 2), "queries": len(lat)},
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def plot(results: list[Path], png: Path) -> None:
    """One panel per cost against store size (log x), one line per result kind and code version: ``measure``
    results (whole Kit, "kit") and ``lexical`` results (lexical-only stores, "lexical")."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # only ``measure`` and ``lexical`` results are costs against size (``catchup`` and ``reader`` are not)
    rows = [r for r in (json.loads(p.read_text()) for p in results) if "label" in r and "query" in r]

    def kind(r: dict) -> str:
        return "kit" if "commit" in r else "lexical"

    def commit(action: str) -> Any:
        def get(r: dict) -> float | None:
            if "commit" in r:
                return r["commit"].get(f"{action}_s")
            if f"{action}_lexical_s" not in r:
                return None
            return r[f"{action}_lexical_s"] + r[f"{action}_manifest_s"]
        return get

    panels = [
        ("1-file add: commit (s)", commit("add")), ("1-file update: commit (s)", commit("update")),
        ("1-file delete: commit (s)", commit("delete")),
        ("lexical query p50 (ms)", lambda r: r["query"]["lexical"]["p50_ms"]),
        ("hybrid query p50 (ms)", lambda r: r["query"].get("hybrid", {}).get("p50_ms")),
        ("query process peak RSS (MB)", lambda r: r["query"]["peak_rss_mb"]),
        ("cold open (s)", lambda r: r["query"]["cold_open_s"]),
        ("lexical index on disk (MB)", lambda r: r["disk_bytes"]["lexical"] / 1e6),
    ]
    fig, axes = plt.subplots(2, 4, figsize=(17, 7.5))
    for ax, (title, get) in zip(axes.flat, panels):
        for series in sorted({(kind(r), r["label"]) for r in rows}):
            pts = sorted((r["chunks"], get(r)) for r in rows if (kind(r), r["label"]) == series and get(r) is not None)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"{series[0]} {series[1]}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("chunks in the store")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("bench/scale.py: costs against store size (kit: whole Kit.index / search; lexical: lexical-only stores)")
    fig.tight_layout()
    fig.savefig(png, dpi=80)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ingest"]:  # the ingest-memory measure lives in its own script; same arguments
        from bench import stream_ingest

        return stream_ingest.main(argv[1:])
    parser = harness.parser(__doc__, common=False)
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="bulk-write a store of --size chunks")
    b.add_argument("--size", type=int, required=True)
    b.add_argument("--out", type=Path, required=True)
    harness.add_common(b, data=DATA)
    b.add_argument("--hnsw", type=json.loads, default={}, help='HNSW overrides, e.g. {"ef_construction": 64}')
    b.add_argument("--no-vectors", action="store_true", help="manifest and lexical index only (for `lexical`)")
    v = sub.add_parser("vectors", help="add the synthesized vectors to a store built with --no-vectors")
    v.add_argument("--store", type=Path, required=True)
    v.add_argument("--size", type=int, required=True, help="the --size it was built with")
    harness.add_common(v, data=DATA)
    v.add_argument("--hnsw", type=json.loads, default={}, help='HNSW overrides, e.g. {"ef_construction": 64}')
    lx = sub.add_parser("lexical", help="lexical-only costs: 1-doc commits through Store, lexical queries")
    lx.add_argument("--store", type=Path, required=True)
    harness.add_common(lx, data=DATA)
    lx.add_argument("--label", default="after")
    lx.add_argument("--reps", type=int, default=3)
    lx.add_argument("--queries", type=int, default=100)
    lx.add_argument("--actions", default="add,update,delete", help="which 1-doc changes to time (add must come first)")
    lq = sub.add_parser("lexical-query", help="(run by lexical in a fresh process)")
    lq.add_argument("--store", type=Path, required=True)
    harness.add_common(lq, data=DATA, json_option=False)
    lq.add_argument("--queries", type=int, default=100)
    c = sub.add_parser("catchup", help="a commit whose lexical publish was lost: the next reader's and writer's cost")
    c.add_argument("--store", type=Path, required=True)
    harness.add_common(c, data=DATA)
    c.add_argument("--reps", type=int, default=3)
    c.add_argument("--full", action="store_true", help="also time a full rebuild (what both did before)")
    r = sub.add_parser("reader", help="an open reader's first queries after another process's commit")
    r.add_argument("--store", type=Path, required=True)
    harness.add_common(r, data=DATA)
    r.add_argument("--reps", type=int, default=3)
    m = sub.add_parser("measure", help="commit, query, cold-open, RSS and disk costs of a built store")
    m.add_argument("--store", type=Path, required=True)
    harness.add_common(m, data=DATA)
    m.add_argument("--label", default="after")
    m.add_argument("--reps", type=int, default=3)
    m.add_argument("--queries", type=int, default=100)
    q = sub.add_parser("query", help="(run by measure in a fresh process)")
    q.add_argument("--store", type=Path, required=True)
    harness.add_common(q, data=DATA, json_option=False)
    q.add_argument("--queries", type=int, default=100)
    sub.add_parser("ingest", help="peak RSS of `ragkit index` on 10k vs 100k files (bench/stream_ingest.py's arguments)")
    p = sub.add_parser("plot", help="plot measure results against store size")
    p.add_argument("results", type=Path, nargs="+")
    p.add_argument("--png", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.cmd == "build":
        return harness.emit(build(args.size, args.out, args.data, args.hnsw, not args.no_vectors), args)
    elif args.cmd == "vectors":
        return harness.emit(add_vectors(args.store, args.size, args.data, args.hnsw), args)
    elif args.cmd == "reader":
        return harness.emit(reader_after_commit(args.store, args.data, args.reps), args)
    elif args.cmd == "catchup":
        return harness.emit(catchup_measure(args.store, args.data, args.reps, args.full), args)
    elif args.cmd == "measure":
        return harness.emit(measure(args.store, args.data, args.label, args.reps, args.queries), args)
    elif args.cmd == "lexical":
        return harness.emit(lexical_measure(args.store, args.data, args.label, args.reps, args.queries,
                                            args.actions.split(",")), args)
    elif args.cmd == "lexical-query":
        print(json.dumps(lexical_query_process(args.store, args.data, args.queries)))
    elif args.cmd == "query":
        print(json.dumps(query_process(args.store, args.data, args.queries)))
    else:
        plot(args.results, args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
