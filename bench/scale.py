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

The jobs live in bench/scale_build.py (the sentences, queries, seeded chunks and vectors; ``build``,
``vectors``) and bench/scale_measure.py (``measure``, ``query``, ``reader``, ``lexical``, ``lexical-query``,
``catchup``); this file keeps ``plot`` and the subcommands.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

ROOT = harness.ROOT

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# the jobs live in two helper modules; their names are importable from here as before (bench/lexical_choice.py)
from bench.scale_build import (  # noqa: E402, F401
    BATCH,
    CHUNKS_PER_DOC,
    CORPUS_ROOT,
    DATA,
    add_vectors,
    build,
    queries,
    sentence_vectors,
    sentences,
)
from bench.scale_measure import (  # noqa: E402, F401
    WARMUP,
    catchup_measure,
    commit_costs,
    disk_sizes,
    lexical_measure,
    lexical_query_process,
    measure,
    query_process,
    reader_after_commit,
)


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
