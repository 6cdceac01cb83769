"""Access labels on a real corpus: what enforcing a principal where candidates are generated costs and
gives, against filtering the owner's final list, and what a relabel costs against re-embedding.

SciFact's corpus gets labels by document (deterministic, by a hash of its id): 40% public, 20% ``a``,
20% ``b``, 20% both ``a`` and ``b`` (read by either). Principals: the owner, public (reads 40%), ``a``
(80%) and ``a,b`` (100%, through the label filter). For every SciFact test query, each search mode and each principal: latency, hits returned
(k=10), forbidden documents returned (must be 0) and recall@10 of the relevant documents the principal
may read; the same for the baseline that takes the owner's top 10 and drops what the principal may
not read. Then 10% of the documents are relabelled (same content): seconds and embedding calls, vs
the seconds to embed those documents' chunks.

    .venv/bin/python bench/access.py [DATA_DIR] [--docs N] [--queries N] [--cache DIR] [--json OUT]
"""
from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

ROOT = harness.ROOT
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

DATA = harness.data_path("scifact")
MODES = ("lexical", "dense", "hybrid", "auto")
PRINCIPALS: dict[str, Any] = {"owner": None, "public": "", "a": "a", "a,b": "a,b"}
K = 10


log = harness.log


def labels_for(doc_id: str) -> list[str]:
    bucket = int(hashlib.sha256(doc_id.encode()).hexdigest()[:8], 16) % 10
    return [] if bucket < 4 else ["a"] if bucket < 6 else ["b"] if bucket < 8 else ["a", "b"]


def readable(labels: list[str], who: Any) -> bool:
    if who is None:
        return True
    mine = {p for p in who.split(",") if p}
    return not labels or bool(set(labels) & mine)


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__, data=DATA, positional_data=True)
    parser.add_argument("--docs", type=int, default=0, help="first N corpus documents (0: all)")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--cache", default="/tmp/ragkit-bench-access")
    args = parser.parse_args(argv)

    import ragkit
    from ragkit.config import Config
    from ragkit.eval.beir import BeirDataset

    dataset = BeirDataset(Path(args.data))
    docs = []
    for doc in dataset.documents():
        doc.labels = labels_for(doc.doc_id)
        docs.append(doc)
        if args.docs and len(docs) >= args.docs:
            break
    labels = {d.doc_id: d.labels for d in docs}
    queries, qrels = dataset.split_queries("test")
    qids = [q for q in queries if any(d in labels for d in qrels[q])][: args.queries]

    config = Config()
    config.graph.extractor = "fast"
    store = Path(args.cache) / f"scifact-{len(docs)}"
    kit = ragkit.open(store, config)
    t0 = time.perf_counter()
    report = kit.add_documents(docs)
    log(f"indexed {len(docs)} documents in {time.perf_counter() - t0:.1f} s: {report.to_dict()}")
    chunks = kit.store.count_chunks()

    results: dict[str, Any] = {"documents": len(docs), "chunks": chunks, "queries": len(qids), "k": K, "modes": {}}
    for mode in MODES:
        for q in qids:  # warm: query embeddings cached, so every principal is timed alike
            kit.search(queries[q], k=K, mode=mode)
        for name, who in PRINCIPALS.items():  # and each principal's allowed set and masks built
            kit.search(queries[qids[0]], k=K, mode=mode, principal=who)
        owner_lists = {}
        row: dict[str, Any] = {}
        for name, who in PRINCIPALS.items():
            times, returned, leaks, recall, base_returned, base_recall = [], [], 0, [], [], []
            for q in qids:
                t = time.perf_counter()
                hits = kit.search(queries[q], k=K, mode=mode, principal=who)
                times.append((time.perf_counter() - t) * 1000)
                if who is None:
                    owner_lists[q] = [h.chunk.doc_id for h in hits]
                got = [h.chunk.doc_id for h in hits]
                leaks += sum(1 for d in got if not readable(labels[d], who))
                returned.append(len(hits))
                relevant = {d for d, r in qrels[q].items() if r > 0 and d in labels and readable(labels[d], who)}
                filtered = [d for d in owner_lists[q] if readable(labels[d], who)]
                base_returned.append(len(filtered))
                if relevant:
                    recall.append(len(relevant & set(got)) / len(relevant))
                    base_recall.append(len(relevant & set(filtered)) / len(relevant))
            row[name] = {
                **harness.percentiles_ms(times, 1),
                "mean_hits": round(float(np.mean(returned)), 2),
                "forbidden_returned": leaks,
                f"recall@{K}": round(float(np.mean(recall)), 4) if recall else None,
                "post_filter_mean_hits": round(float(np.mean(base_returned)), 2),
                f"post_filter_recall@{K}": round(float(np.mean(base_recall)), 4) if base_recall else None,
            }
            log(f"{mode:>7} {name:>6}: {row[name]}")
        results["modes"][mode] = row

    # relabel 10% of the documents (same content), counting embedding calls
    calls = []
    embed = kit.embedder.embed
    kit.embedder.embed = lambda texts: calls.append(len(texts)) or embed(texts)
    chosen = [d for i, d in enumerate(docs) if i % 10 == 0]
    for d in chosen:
        d.labels = sorted(set(d.labels) | {"c"})
    t = time.perf_counter()
    relabel = kit.add_documents(chosen)
    relabel_s = time.perf_counter() - t
    kit.embedder.embed = embed
    texts = [kit.chunker().embed_text(c) for d in chosen for c in kit.store.doc_chunks(d.doc_id)]
    t = time.perf_counter()
    embed(texts)
    embed_s = time.perf_counter() - t
    results["relabel"] = {
        "documents": len(chosen), "chunks": len(texts), "relabeled": relabel.relabeled, "seconds": round(relabel_s, 2),
        "embedding_calls": len(calls), "embed_those_chunks_seconds": round(embed_s, 2),
    }
    log(f"relabel: {results['relabel']}")
    kit.close()
    return harness.emit(results, args)


if __name__ == "__main__":
    sys.exit(main())
