"""Index time with the graph on vs off on SciFact, side by side in one run, plus peak memory and the time
to load the derived graph in a fresh process.

    python bench/graph_ingest.py [DATA_DIR] [--variants off,spacy,fast] [--limit N] [--keep DIR] [--json OUT]

Each variant indexes the corpus into a fresh store in its own subprocess (the embedder loaded and warmed
before the clock; the entity recognizer loads lazily inside the timed index, as in real use). ``off``:
``graph.enabled = false``; ``spacy``: spaCy en_core_web_sm NER (the default when the ``graph`` extra is
installed); ``fast``: the model-free capitalized-phrase recognizer. ``--keep DIR`` keeps the ``spacy``
store at DIR (for ``ragkit eval beir --store DIR``).
"""
from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

REPO = harness.ROOT
DEFAULT_DATA = harness.SHARED_DATA / "scifact"


def child(variant: str, data: Path, limit: int | None, store: Path) -> dict[str, float]:
    import ragkit
    from ragkit.config import Config
    from ragkit.eval.beir import BeirDataset

    docs = list(BeirDataset(data).documents())[: limit or None]
    config = Config()
    config.graph.enabled = variant != "off"
    config.graph.extractor = "spacy" if variant == "spacy" else "fast"
    kit = ragkit.open(store, config)
    kit.embedder.embed(["warm up the model"])
    started, cpu = time.perf_counter(), time.process_time()
    report = kit.add_documents(docs)
    seconds = time.perf_counter() - started
    out = {"seconds": round(seconds, 1), "cpu_seconds": round(time.process_time() - cpu, 1), "docs": len(docs),
           "chunks": report.chunks,
           "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    if variant != "off":
        stats = kit.graph.stats()
        out["graph"] = {k: stats[k] for k in ("entities", "mentions", "edges", "consistent")}
    kit.close()
    return out


def load_child(store: Path) -> dict[str, float]:
    import ragkit

    started = time.perf_counter()
    kit = ragkit.open(store)
    index = kit.graph.index
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    index.nx  # the networkx view (CLI neighbours / paths / export) is built on first use
    return {"load_seconds": round(seconds, 2), "networkx_seconds": round(time.perf_counter() - started, 2),
            "entities": len(index.entity_ids), "chunks": len(index.chunk_ids)}


def run(args: list[str]) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", ORT_DISABLE_TELEMETRY="1")
    proc = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__, data=DEFAULT_DATA, positional_data=True)
    parser.add_argument("--variants", default="off,spacy,fast")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--child")
    parser.add_argument("--load")
    parser.add_argument("--store", type=Path)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.data, args.limit, args.store)))
        return 0
    if args.load:
        print(json.dumps(load_child(Path(args.load))))
        return 0
    report: dict[str, object] = {"data": str(args.data), "machine": f"{os.cpu_count()} cores, {platform.machine()}",
                                 "variants": {}}
    tmp = Path(tempfile.mkdtemp(prefix="ragkit-graph-ingest-"))
    try:
        for variant in args.variants.split(","):
            store = args.keep if (variant == "spacy" and args.keep) else tmp / variant
            if store.exists():
                shutil.rmtree(store)
            extra = ["--limit", str(args.limit)] if args.limit else []
            result = run([str(args.data), "--child", variant, "--store", str(store), *extra])
            if variant != "off":  # a fresh process builds the derived graph (and caches it), the next loads the cache
                result["load"] = run(["--load", str(store)])
                result["load_cached"] = run(["--load", str(store)])
            report["variants"][variant] = result  # type: ignore[index]
            print(variant, result, file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    off = report["variants"].get("off")  # type: ignore[union-attr]
    if off:  # wall clock, and CPU time of the process (less sensitive to other load on a shared machine)
        report["ratio_vs_off"] = {v: round(r["seconds"] / off["seconds"], 2)  # type: ignore[index]
                                  for v, r in report["variants"].items() if v != "off"}  # type: ignore[union-attr]
        report["cpu_ratio_vs_off"] = {v: round(r["cpu_seconds"] / off["cpu_seconds"], 2)  # type: ignore[index]
                                      for v, r in report["variants"].items() if v != "off"}  # type: ignore[union-attr]
    return harness.emit(report, args)


if __name__ == "__main__":
    sys.exit(main())
