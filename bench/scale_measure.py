"""bench/scale.py's measures on a built store: 1-file commits through ``Kit.index``, queries in a fresh
process, an open reader after another process's commit, and the lexical-only costs (``measure``,
``query``, ``reader``, ``lexical``, ``lexical-query``, ``catchup``; see bench/scale.py's docstring).

A helper module of bench/scale.py (no ``main``: not a bench of its own).
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from bench import harness
from bench.scale_build import CORPUS_ROOT, _file_text, _one_doc, queries, sentences
from ragkit.store import commit as commit_protocol

ROOT = harness.ROOT
SCRIPT = Path(__file__).resolve().with_name("scale.py")  # the query subcommands run it in a fresh process
WARMUP = 20  # queries per mode before the timed ones


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
        [sys.executable, str(SCRIPT), command, "--store", str(store), "--data", str(data),
         "--queries", str(n_queries)],
        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), check=False,
    )
    if proc.returncode:
        raise SystemExit(proc.stderr)
    out["query"] = json.loads(proc.stdout)
    out["chunks"] = out["query"]["chunks"]
    out["disk_bytes"] = disk_sizes(store)
    return out


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
            commit_protocol.commit(store, ups, dels, {}, [], settings)
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

