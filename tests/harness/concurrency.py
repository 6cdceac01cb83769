"""One writer indexing while reader processes search and ask: the processes and the exact check.

``python -m tests.harness.concurrency writer STORE DOCS OUT START SECONDS`` re-indexes DOCS in rounds
from the wall-clock time START for SECONDS. Each round adds a *marker* file (one chunk made of four tokens no other file has), deletes the
marker of three rounds before, edits two other files and runs ``kit.index``. Right after each commit (the
``delete`` phase starts once the manifest transaction is in) it appends the committed generation, its
chunk ids and the markers it holds to OUT (JSON lines), read from a connection of its own. It is the
only writer, so that is exactly what each generation is.

``python -m tests.harness.concurrency reader STORE OUT START SECONDS SEED`` opens one Kit and keeps it (as
a server or a worker would), then searches (lexical, dense, hybrid, auto) and asks in a loop from START
for SECONDS,
appending per call: the operation, the generation its hits report, their chunk ids, the cited chunk ids,
and any error with its traceback. Most queries are a marker's tokens.

``check(generations, results)`` proves that every result came from one committed generation: all its
hits report the same generation G, G was recorded by the writer, and every hit and citation is a chunk
of G. For dense and hybrid marker queries it also checks that the view was current: when G holds the
marker, the marker's chunk is the top hit (a reader with a stale vector index misses it).
"""
from __future__ import annotations

import json
import random
import sqlite3
import sys
import time
import traceback
from pathlib import Path
from typing import Any

WORDS = ("river harbor engine copper lantern orchard falcon glacier meadow quartz signal tunnel violet "
         "walnut yarrow zephyr amber beacon cinder delta ember fjord granite heron").split()
PEOPLE = ("Ada Lovelace", "Marie Curie", "Alan Turing", "Grace Hopper", "Niels Bohr")
MODES = ("lexical", "dense", "hybrid", "auto")
BASE_FILES = 24
MARKERS_KEPT = 3


def marker_text(r: int) -> str:
    """Four tokens that only round ``r``'s marker file holds."""
    return f"mk{r}alpha mk{r}bravo mk{r}charlie mk{r}delta"


def config() -> Any:
    from ragkit.config import Config, EmbedderConfig

    cfg = Config(embedder=EmbedderConfig(name="hash"))
    cfg.graph.extractor = "fast"
    cfg.generator.name = "extractive"
    return cfg


def _paragraph(rng: random.Random, tag: str) -> str:
    words = " ".join(rng.choice(WORDS) for _ in range(12))
    return f"{rng.choice(PEOPLE)} wrote about the {words} in {tag}."


def write_base(docs: Path, rng: random.Random) -> None:
    docs.mkdir(parents=True, exist_ok=True)
    for i in range(BASE_FILES):
        (docs / f"base{i:02d}.txt").write_text("\n\n".join(_paragraph(rng, f"base {i} v0") for _ in range(4)))


def change(docs: Path, rng: random.Random, r: int) -> None:
    (docs / f"marker{r:04d}.txt").write_text(marker_text(r))
    (docs / f"marker{r - MARKERS_KEPT:04d}.txt").unlink(missing_ok=True)
    for i in rng.sample(range(BASE_FILES), 2):
        (docs / f"base{i:02d}.txt").write_text("\n\n".join(_paragraph(rng, f"base {i} v{r}") for _ in range(4)))


def _record(store: Path) -> dict[str, Any]:
    db = sqlite3.connect(store / "manifest.sqlite", timeout=60)
    try:
        gen = json.loads(db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0])
        ids = [r[0] for r in db.execute("SELECT chunk_id FROM chunks")]
        markers = {}
        for cid, text in db.execute("SELECT chunk_id, text FROM chunks WHERE text LIKE 'mk%alpha%'"):
            markers[text.split("alpha")[0]] = cid
        return {"generation": int(gen), "ids": ids, "markers": markers}
    finally:
        db.close()


def _wait(start: float) -> float:
    """Sleep until the wall-clock ``start``; the monotonic deadline offset is returned by the caller."""
    time.sleep(max(0.0, start - time.time()))
    return time.monotonic()


def writer(store: Path, docs: Path, out: Path, start: float, seconds: float) -> int:
    import ragkit

    rng = random.Random(7)
    kit = ragkit.open(store)
    log = out.open("a", buffering=1)

    def on_phase(name: str) -> None:
        if name == "delete":  # the manifest transaction of this write has committed
            log.write(json.dumps(_record(store)) + "\n")

    log.write(json.dumps(_record(store)) + "\n")
    deadline = _wait(start) + max(0.0, seconds - max(0.0, time.time() - start))
    r = 1
    while time.monotonic() < deadline:
        change(docs, rng, r)
        kit.index([docs], on_phase=on_phase)
        log.write(json.dumps(_record(store)) + "\n")  # and after it, in case anything else committed
        r += 1
        time.sleep(rng.uniform(0.0, 0.3))
    kit.close()
    return 0


def reader(store: Path, out: Path, start: float, seconds: float, seed: int) -> int:
    import ragkit

    rng = random.Random(seed)
    kit = ragkit.open(store)
    log = out.open("a", buffering=1)
    kit.search("warm up", k=1)  # load the lexical index and the vectors before the clock starts
    deadline = _wait(start) + max(0.0, seconds - max(0.0, time.time() - start))
    latest = 1
    while time.monotonic() < deadline:
        op = rng.choice(("search", "search", "search", "ask"))
        mode = rng.choice(MODES) if op == "search" else None
        r = rng.randint(max(1, latest - MARKERS_KEPT - 1), latest + 1)
        query = marker_text(r) if rng.random() < 0.7 else f"{rng.choice(PEOPLE)} {rng.choice(WORDS)} {rng.choice(WORDS)}"
        entry: dict[str, Any] = {"op": op, "mode": mode, "query": query, "t": time.time()}
        t0 = time.perf_counter()
        try:
            if op == "search":
                hits = kit.search(query, k=5, mode=mode)
                cited: list[str] = []
            else:
                answer = kit.ask(query, k=5)
                hits = answer.hits
                cited = [c.chunk_id for c in answer.citations]
            entry.update(generations=sorted({h.generation for h in hits}, key=str), ids=[h.chunk.chunk_id for h in hits],
                         top=hits[0].chunk.text[:80] if hits else None, cited=cited)
            gens = [g for g in entry["generations"] if isinstance(g, int)]
            latest = max([latest, *gens]) if gens else latest
            latest = max(latest, int(kit.store.generation))
        except Exception as exc:  # noqa: BLE001 - every error is recorded; the check counts them
            entry.update(error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()[-3000:])
        entry["seconds"] = time.perf_counter() - t0
        log.write(json.dumps(entry) + "\n")
    kit.close()
    return 0


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def check(generations: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of errors and of results not from one committed generation (both must be 0)."""
    by_gen: dict[int, dict[str, Any]] = {}
    for g in generations:
        known = by_gen.setdefault(g["generation"], {"ids": set(g["ids"]), "markers": g["markers"]})
        if known["ids"] != set(g["ids"]):
            raise AssertionError(f"generation {g['generation']} recorded twice with different chunks")
    gens = sorted(by_gen)
    report: dict[str, Any] = {
        "calls": len(results), "errors": 0, "mixed": 0, "unknown_generation": 0, "outside_generation": 0,
        "stale_dense": 0, "fresh_dense_checked": 0, "empty": 0,
        "generations_committed": len(gens), "generations_seen": 0, "recorded_contiguous": gens == list(range(gens[0], gens[-1] + 1)) if gens else False,
        "by_op": {}, "examples": [],
    }
    seen: set[int] = set()
    for res in results:
        key = res["op"] if res["op"] == "ask" else f"search:{res['mode']}"
        report["by_op"][key] = report["by_op"].get(key, 0) + 1
        if "error" in res:
            report["errors"] += 1
            report["examples"].append(res["error"])
            continue
        if not res["ids"]:
            report["empty"] += 1
            continue
        if len(res["generations"]) != 1 or not isinstance(res["generations"][0], int):
            report["mixed"] += 1
            report["examples"].append(f"hits report generations {res['generations']}")
            continue
        g = res["generations"][0]
        seen.add(g)
        if g not in by_gen:
            report["unknown_generation"] += 1
            report["examples"].append(f"generation {g} was never recorded by the writer")
            continue
        outside = [cid for cid in res["ids"] + res["cited"] if cid not in by_gen[g]["ids"]]
        if outside:
            report["outside_generation"] += 1
            report["examples"].append(f"{len(outside)} chunk(s) not in generation {g}: {outside[:3]}")
            continue
        prefix = res["query"].split("alpha")[0] if res["query"].startswith("mk") else None
        if prefix and res["mode"] in ("dense", "hybrid") and prefix in by_gen[g]["markers"]:
            report["fresh_dense_checked"] += 1
            if res["ids"][0] != by_gen[g]["markers"][prefix]:
                report["stale_dense"] += 1
                report["examples"].append(f"{res['mode']} at generation {g}: marker {prefix} not the top hit")
    report["generations_seen"] = len(seen)
    report["examples"] = report["examples"][:10]
    report["ok"] = (report["errors"] == 0 and report["mixed"] == 0 and report["unknown_generation"] == 0
                    and report["outside_generation"] == 0 and report["stale_dense"] == 0)
    return report


def run(work: Path, seconds: float, readers: int, python: str, env: dict[str, str], cwd: Path,
        startup: float = 20.0) -> dict[str, Any]:
    """Build the store, then run the writer and ``readers`` reader processes for ``seconds``; check."""
    import subprocess

    import ragkit

    docs, store = work / "docs", work / "store"
    write_base(docs, random.Random(3))
    kit = ragkit.open(store, config())
    kit.index([docs])
    kit.close()
    gens_file = work / "generations.jsonl"
    cmd = [python, "-m", "tests.harness.concurrency"]
    start = str(time.time() + startup)  # every process imports ragkit and opens the store before it
    procs = [subprocess.Popen(cmd + ["reader", str(store), str(work / f"reader{i}.jsonl"), start, str(seconds), str(i)],
                              env=env, cwd=cwd, stderr=subprocess.PIPE, text=True) for i in range(readers)]
    procs.append(subprocess.Popen(cmd + ["writer", str(store), str(docs), str(gens_file), start, str(seconds)],
                                  env=env, cwd=cwd, stderr=subprocess.PIPE, text=True))
    codes = []
    for proc in procs:
        _, err = proc.communicate(timeout=seconds * 6 + 300)
        codes.append((proc.returncode, err[-2000:] if proc.returncode else ""))
    results = [r for i in range(readers) for r in read_jsonl(work / f"reader{i}.jsonl")]
    report = check(read_jsonl(gens_file), results)
    report["exit_codes"] = codes
    report["ok"] = report["ok"] and all(code == 0 for code, _ in codes)
    return report


def main() -> int:
    role = sys.argv[1]
    if role == "writer":
        return writer(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]))
    if role == "reader":
        return reader(Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]))
    raise SystemExit(f"unknown role {role!r}; valid: writer, reader")


if __name__ == "__main__":
    sys.exit(main())
