"""Peak memory of ``ragkit index`` against corpus size: 10k vs 100k small files of real text.

Files are one SciFact sentence or one HotpotQA paragraph each (past the pool of unique texts, two of
them joined, so every file differs), 1,000 per sub-folder, alternating ``.txt`` and ``.md``. Each size is
indexed into a fresh store by ``ragkit index`` in its own process under ``/usr/bin/time -v`` (its
"Maximum resident set size" is the peak RSS). The store uses the ``hash`` embedder (a memory measure:
the MiniLM model would take hours on 100k files on this machine) and the ``fast`` graph extractor.

    python bench/stream_ingest.py [DATA_DIR] [--sizes 10000,100000] [--repo PATH] [--work DIR]
        [--set ingest.batch_files=500 ...]

``--repo`` picks the ragkit source tree to measure (default: this one), so the same script measures
the code before and after a change; prints one JSON document.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
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


def index_peak(repo: Path, store: Path, folder: Path, settings: list[str]) -> dict[str, object]:
    """Run ``ragkit index`` once into a fresh store; its peak RSS (MiB), wall seconds and report."""
    store.mkdir(parents=True)
    (store / "config.toml").write_text('[embedder]\nname = "hash"\n\n[graph]\nextractor = "fast"\n', encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(repo), HF_HUB_OFFLINE="1")
    for pair in settings:  # RAGKIT_<SECTION>_<KEY> overrides for this process
        key, _, value = pair.partition("=")
        env["RAGKIT_" + key.replace(".", "_").upper()] = value
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "ragkit.cli.main", "index", str(folder),
           "--store", str(store), "--json", "--quiet"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=repo, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"index failed ({proc.returncode}): {proc.stderr[-3000:]}")
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    report = json.loads(proc.stdout)
    report["failed"] = len(report["failed"])
    return {"peak_rss_mib": round(peak_kb / 1024, 1), "wall_s": round(wall, 1), "report": report}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repo", type=Path, default=REPO, help="ragkit source tree to measure")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir)")
    parser.add_argument("--set", dest="settings", action="append", default=[], help="section.key=value override")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = args.work or Path(tempfile.mkdtemp(prefix="ragkit-stream-"))
    work.mkdir(parents=True, exist_ok=True)
    pool = text_pool(args.data)
    results: dict[str, object] = {}
    try:
        for n in sizes:
            folder = work / f"files{n}"
            if not folder.exists():
                write_corpus(pool, n, folder)
            corpus_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            store = work / f"store{n}"
            shutil.rmtree(store, ignore_errors=True)
            run = index_peak(args.repo.resolve(), store, folder, args.settings)
            run["corpus_mib"] = round(corpus_bytes / 2**20, 2)
            results[str(n)] = run
            shutil.rmtree(store, ignore_errors=True)
            print(json.dumps({n: run}), file=sys.stderr, flush=True)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    peaks = [results[str(n)]["peak_rss_mib"] for n in sizes]  # type: ignore[index]
    out = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "repo": str(args.repo.resolve()),
        "settings": args.settings,
        "pool_texts": len(pool),
        "sizes": results,
        "ratio_largest_to_smallest": round(peaks[-1] / peaks[0], 3),
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
