"""Peak memory of ``ragkit index`` against corpus size: 10k vs 100k small files of real text.

Files are one SciFact sentence or one HotpotQA paragraph each (past the pool of unique texts, two of
them joined, so every file differs), 1,000 per sub-folder, alternating ``.txt`` and ``.md``. Each size is
indexed into a fresh store by ``ragkit index`` in its own process under ``/usr/bin/time -v`` (its
"Maximum resident set size" is the peak RSS). The store uses the ``hash`` embedder (a memory measure:
the MiniLM model would take hours on 100k files on this machine) and the ``fast`` graph extractor.

    python bench/stream_ingest.py [DATA_DIR] [--sizes 10000,100000] [--repo PATH] [--work DIR]
        [--set ingest.batch_files=500 ...] [--chroma-server] [--embedder hash|minilm]
    python bench/stream_ingest.py --vectors-only [--sizes 10000,100000] [--dims 64]

``--vectors-only`` measures a process that only upserts as many vectors into embedded chroma (the
vector index, which is the store itself and grows with it, apart from the ingest's working memory).

``--chroma-server`` puts the vectors in a ``chroma run`` server (``vector_store.name=chroma-http``) on
127.0.0.1, itself under ``/usr/bin/time -v``: the index process's peak then excludes the in-memory HNSW
index that an embedded chroma keeps (which grows with the store, not the batch), and the server's
peak is reported beside it.

``--repo`` picks the ragkit source tree to measure (default: this one), so the same script measures
the code before and after a change; prints one JSON document.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# appended, not prepended: a child run with PYTHONPATH=--repo measures that tree's ragkit
sys.path.append(str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

REPO = harness.ROOT
DEFAULT_DATA = harness.SHARED_DATA
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def text_pool(data: Path) -> list[str]:
    """Unique short texts: SciFact abstract sentences and HotpotQA paragraphs."""
    seen: dict[str, None] = {}
    with gzip.open(data / "scifact" / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            for sentence in _SENTENCE.split(json.loads(line)["text"]):
                if len(sentence) >= 40:
                    seen.setdefault(sentence.strip(), None)
    for name in ("hotpotqa_dev_ircot500.jsonl", "hotpotqa_dev_distractor_raw200.jsonl"):
        path = data / "hotpotqa_dev_subset" / name
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                for ctx in row.get("contexts", []):
                    text = str(ctx.get("paragraph_text", "")).strip()
                    if 40 <= len(text) <= 1200:
                        seen.setdefault(text, None)
    return list(seen)


def write_corpus(pool: list[str], n: int, folder: Path) -> int:
    """``n`` files under ``folder``; returns their total bytes."""
    total = 0
    size = len(pool)
    for k in range(n):
        text = pool[k % size] if k < size else f"{pool[k % size]} {pool[(k * 7919 + 13) % size]}"
        sub = folder / f"part{k // 1000:04d}"
        if k % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        path = sub / (f"f{k:06d}.txt" if k % 2 == 0 else f"f{k:06d}.md")
        path.write_text(text + "\n", encoding="utf-8")
        total += len(text) + 1
    return total


def _peak_mib(time_stderr: str) -> float:
    return round(int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_stderr).group(1)) / 1024, 1)


class ChromaServer:
    """A ``chroma run`` server on a free loopback port, under ``/usr/bin/time -v`` (peak RSS on stop)."""

    def __init__(self, data: Path):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        chroma = Path(sys.executable).with_name("chroma")
        self.log = data.with_suffix(".log")
        self.proc = subprocess.Popen(
            ["/usr/bin/time", "-v", str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=self.log.open("w"),
        )
        import urllib.request

        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"chroma run did not start; see {self.log}")

    def stop(self) -> float:
        """Stop the server (SIGTERM to ``chroma``, the child of ``time``, which then reports) and return
        its peak MiB."""
        import psutil

        for child in psutil.Process(self.proc.pid).children():
            child.send_signal(signal.SIGTERM)
        self.proc.wait(120)
        return _peak_mib(self.log.read_text())


def index_peak(repo: Path, store: Path, folder: Path, settings: list[str], port: int | None = None,
               embedder: str = "hash") -> dict[str, object]:
    """Run ``ragkit index`` once into a fresh store; its peak RSS (MiB), wall seconds and report."""
    store.mkdir(parents=True)
    config = f'[embedder]\nname = "{embedder}"\n\n[graph]\nextractor = "fast"\n'
    if port is not None:
        config += f'\n[vector_store]\nname = "chroma-http"\nhost = "127.0.0.1"\nport = {port}\n'
    (store / "config.toml").write_text(config, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(repo), HF_HUB_OFFLINE="1")
    for pair in settings:  # RAGKIT_<SECTION>_<KEY> overrides for this process
        key, _, value = pair.partition("=")
        env["RAGKIT_" + key.replace(".", "_").upper()] = value
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "ragkit.cli.main", "index", str(folder),
           "--store", str(store), "--json", "--quiet"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=repo, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"index failed ({proc.returncode}): {proc.stderr[-3000:]}")
    report = json.loads(proc.stdout)
    report["failed"] = len(report["failed"])
    return {"peak_rss_mib": _peak_mib(proc.stderr), "wall_s": round(wall, 1), "report": report}


def vectors_child(n: int, path: Path, dims: int) -> None:
    """(Run in a child process.) Upsert ``n`` unit vectors of ``dims`` dimensions into an embedded
    chroma collection with ragkit's settings, 1,000 per call as an ingest's batches do, and print the
    process's RSS (MiB, from /proc) before the first and after the last upsert, as JSON."""
    import numpy as np

    from ragkit.config import VectorStoreConfig
    from ragkit.indexes.chroma import ChromaVectorStore

    def rss() -> float:
        with open("/proc/self/status") as fh:
            return round(int(next(line for line in fh if line.startswith("VmRSS")).split()[1]) / 1024, 1)

    store = ChromaVectorStore(path, VectorStoreConfig(), collection="bench")
    rng = np.random.default_rng(0)
    store.upsert(["0" * 32], np.ones((1, dims), dtype=np.float32))  # chroma's own start-up, not per vector
    before = rss()
    for start in range(0, n, 1000):
        part = rng.standard_normal((min(1000, n - start), dims)).astype(np.float32)
        part /= np.linalg.norm(part, axis=1, keepdims=True)
        # ids shaped like ragkit's chunk ids (32 hex digits): the index keeps each id
        store.upsert([hashlib.md5(str(i).encode()).hexdigest() for i in range(start, start + len(part))], part)
    print(json.dumps({"rss_before_mib": before, "rss_after_mib": rss(), "count": store.count()}))


def vectors_peak(repo: Path, n: int, work: Path, dims: int) -> dict[str, object]:
    """Peak RSS (``/usr/bin/time -v``) and RSS growth of a process that only upserts ``n`` vectors
    into embedded chroma: the part of an ingest's memory that is the vector index itself."""
    path = work / f"vectors{n}"
    shutil.rmtree(path, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=str(repo), HF_HUB_OFFLINE="1")
    cmd = ["/usr/bin/time", "-v", sys.executable, str(Path(__file__).resolve()), "--vectors-child", str(n),
           "--work", str(path), "--dims", str(dims)]
    proc = subprocess.run(cmd, env=env, cwd=repo, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"vectors child failed ({proc.returncode}): {proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    shutil.rmtree(path, ignore_errors=True)
    growth = out["rss_after_mib"] - out["rss_before_mib"]
    return {"peak_rss_mib": _peak_mib(proc.stderr), **out, "growth_mib": round(growth, 1),
            "bytes_per_vector": round(growth * 2**20 / n)}


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__, data=DEFAULT_DATA, positional_data=True)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repo", type=Path, default=REPO, help="ragkit source tree to measure")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir)")
    parser.add_argument("--set", dest="settings", action="append", default=[], help="section.key=value override")
    parser.add_argument("--chroma-server", action="store_true", help="vectors in a `chroma run` server (chroma-http)")
    parser.add_argument("--embedder", default="hash", choices=["hash", "minilm"],
                        help="the store's embedder (default hash: minilm takes hours for 100k files here)")
    parser.add_argument("--vectors-only", action="store_true",
                        help="measure only embedded chroma holding as many vectors as the sizes (no ingest)")
    parser.add_argument("--dims", type=int, default=64, help="vector dimensions with --vectors-only (hash: 64)")
    parser.add_argument("--vectors-child", type=int, default=None, help=harness.SUPPRESS)
    args = parser.parse_args(argv)
    if args.vectors_child is not None:
        vectors_child(args.vectors_child, args.work, args.dims)
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    work = args.work or Path(tempfile.mkdtemp(prefix="ragkit-stream-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {}
    if args.vectors_only:
        try:
            for n in sizes:
                results[str(n)] = vectors_peak(args.repo.resolve(), n, work, args.dims)
                harness.log(json.dumps({n: results[str(n)]}))
        finally:
            if args.work is None:
                shutil.rmtree(work, ignore_errors=True)
        peaks = [results[str(n)]["peak_rss_mib"] for n in sizes]  # type: ignore[index]
        return harness.emit({"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                             "vectors": f"embedded chroma only, {args.dims} dimensions", "sizes": results,
                             "ratio_largest_to_smallest": round(peaks[-1] / peaks[0], 3)}, args)
    pool = text_pool(args.data)
    try:
        for n in sizes:
            folder = work / f"files{n}"
            if not folder.exists():
                write_corpus(pool, n, folder)
            corpus_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            store = work / f"store{n}"
            shutil.rmtree(store, ignore_errors=True)
            server = ChromaServer(work / f"chroma{n}") if args.chroma_server else None
            try:
                run = index_peak(args.repo.resolve(), store, folder, args.settings, server.port if server else None,
                                 args.embedder)
            finally:
                if server is not None:
                    peak = server.stop()
            if server is not None:
                run["chroma_server_peak_rss_mib"] = peak
                shutil.rmtree(work / f"chroma{n}", ignore_errors=True)
            run["corpus_mib"] = round(corpus_bytes / 2**20, 2)
            results[str(n)] = run
            shutil.rmtree(store, ignore_errors=True)
            harness.log(json.dumps({n: run}))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    peaks = [results[str(n)]["peak_rss_mib"] for n in sizes]  # type: ignore[index]
    out = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "repo": str(args.repo.resolve()),
        "settings": args.settings,
        "vectors": "chroma-http (a `chroma run` server)" if args.chroma_server else "embedded chroma",
        "embedder": args.embedder,
        "pool_texts": len(pool),
        "sizes": results,
        "ratio_largest_to_smallest": round(peaks[-1] / peaks[0], 3),
    }
    return harness.emit(out, args)


if __name__ == "__main__":
    sys.exit(main())
