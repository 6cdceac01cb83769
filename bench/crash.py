"""Crash bench: a 1,000-file ingest of every supported format, SIGKILLed at random points.

Each round changes the corpus (round 1: the whole 1,000-file corpus into an empty store; later rounds
add, edit and delete files of every format), runs ``index`` in a subprocess (``tests.harness.index``,
which logs the start of each write phase) and SIGKILLs it: at the start of a named phase (the harness
kills itself there) or at a random moment of the run, drawn uniformly over the length of the last run
that did a whole round's work without a kill (a moment after the run ended kills nothing: the round is
kept and checked, and the kill is drawn again next round, until 20 runs were killed). The log tells which phase the kill landed in. After each kill, a fresh process checks
that the committed state is the previous or the new one and readable; then ``index`` runs again to the
end and a fresh process checks the store exactly:

- ``ragkit check --json`` (the deep check: every vector against the embedding cache, lexical scores
  against a fresh index, graph rows against the committed chunks) finds nothing;
- lost: a file on disk that is neither a committed document (same content hash) nor a reported failure,
  or a document without its chunks; duplicated: a chunk id twice in chroma or in the BM25 index, or a
  document twice; orphaned: a vector or BM25 row or graph row whose chunk is not committed, or a
  document whose file is gone — each must be 0;
- the graph equals a fresh extraction of the committed documents (nodes, edges, mentions, entities).

At the end the final corpus is indexed without a kill into a fresh store, which must hold the same
documents, the same chunk ids and the same graph rows. Prints one JSON document; progress on stderr.

    python bench/crash.py [--files 1000] [--kills 20] [--seed 13] [--work DIR]

Uses the hashing embedder (``embedder.name = "hash"``): what is checked is the store machinery, not the
model, and MiniLM on this 2-core machine would make each of the 40 ingests minutes long; the graph uses
the model-free ``fast`` recognizer for the same reason. The corpus and its changes are written by
bench/crash_corpus.py.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

REPO = harness.ROOT

from tests.harness.index import command as index_command  # noqa: E402 - the harness whose log we read
from tests.harness.index import committed_state, phase_at  # noqa: E402
from tests.graphs.consistency import expected_graph, graph_rows  # noqa: E402 - one exact graph check

# the corpus (every format, its edits) lives in a helper module; its names are importable from here as before
from bench.crash_corpus import FORMAT_MIX, SUFFIX, make_corpus, mutate, on_disk, write_file  # noqa: E402, F401


# -- checks (run in a fresh process: an embedded chroma caches its state per process) -------------------

def check_after_kill(store_path: Path, before: dict[str, str], after: dict[str, str]) -> dict[str, Any]:
    """The committed state is the previous or the new one, and every committed chunk is searchable."""
    from graphs.store import check_consistency
    from ragkit.store import Store

    store = Store(store_path)
    try:
        state = {d["doc_id"]: d["content_hash"] for d in store.documents()}
        manifest = set(store.all_chunk_ids())
        vectors = store.vectors.ids()
        lexical = store.lexical().ids
        problems = []
        if state not in (before, after):
            problems.append("committed state is neither the previous nor the new one")
        if not manifest <= vectors:
            problems.append(f"{len(manifest - vectors)} committed chunks without a vector")
        if set(lexical) != manifest or len(lexical) != len(set(lexical)):
            problems.append("lexical index differs from the committed chunks")
        graph = check_consistency(store.db)
        if graph:
            problems.append(f"graph: {graph}")
        return {"state": "new" if state == after else "previous", "problems": problems}
    finally:
        store.close()


def check_exact(store_path: Path, docs: Path) -> dict[str, Any]:
    """Counts of lost, duplicated and orphaned items across manifest, chroma, BM25 and graph (all 0 when
    the store is exact), with the deep ``ragkit check`` report."""
    from graphs.store import check_consistency
    from ragkit.store import Store

    disk = on_disk(docs)
    store = Store(store_path)
    try:
        db = store.db
        documents = {d["doc_id"]: d for d in store.documents()}
        failed = {f["path"] for f in store.failures()}
        manifest = store.all_chunk_ids()
        manifest_set = set(manifest)
        got = store.vectors.collection.get(include=[])
        vector_ids = list(got["ids"])
        lexical_ids = list(store.lexical().ids)
        per_doc = Counter(r[0] for r in db.execute("SELECT doc_id FROM chunks"))
        graph_problems = check_consistency(db)
        actual_graph = graph_rows(db)
        wanted_graph = expected_graph(store)
        graph_diff = {part: sum(((actual_graph[part] - wanted_graph[part]) + (wanted_graph[part] - actual_graph[part])).values())
                      for part in wanted_graph}
        counts = {
            "lost_files": sum(1 for p, h in disk.items() if documents.get(p, {}).get("content_hash") != h and p not in failed),
            "lost_chunks": sum(1 for d, doc in documents.items() if per_doc.get(d, 0) != doc["chunks"])
            + len(manifest_set - set(vector_ids)) + len(manifest_set - set(lexical_ids)),
            "duplicated": (len(vector_ids) - len(set(vector_ids))) + (len(lexical_ids) - len(set(lexical_ids)))
            + (len(manifest) - len(manifest_set)),
            "orphaned_vectors": len(set(vector_ids) - manifest_set),
            "orphaned_lexical": len(set(lexical_ids) - manifest_set),
            "orphaned_documents": sum(1 for d in documents if d not in disk),
            "graph_inconsistent": len(graph_problems),
            "graph_rows_differ": sum(graph_diff.values()),
            "pending_deletes": db.execute("SELECT COUNT(*) FROM pending_deletes").fetchone()[0],
        }
        flags = {"lexical_published": store.lexical_published(), "dirty": store.get_meta("dirty")}
        sizes = {"files": len(disk), "documents": len(documents), "failed": len(failed), "chunks": len(manifest),
                 "vectors": len(vector_ids), "graph_nodes": sum(actual_graph["nodes"].values()),
                 "graph_edges": sum(actual_graph["edges"].values()), "mentions": sum(actual_graph["mentions"].values()),
                 "formats": dict(Counter(d["format"] for d in documents.values()))}
    finally:
        store.close()
    proc = subprocess.run([sys.executable, "-m", "ragkit.cli.main", "check", "--store", str(store_path), "--json"],
                          env=_env(), capture_output=True, text=True, timeout=1800, cwd=REPO)
    deep = json.loads(proc.stdout) if proc.stdout.strip() else {"ok": False, "problems": [proc.stderr[-2000:]]}
    ok = (all(v == 0 for v in counts.values()) and flags == {"lexical_published": True, "dirty": False}
          and proc.returncode == 0 and deep.get("ok") is True and not deep.get("problems"))
    return {"ok": ok, "counts": counts, "flags": flags, "sizes": sizes,
            "deep_check": {"ok": deep.get("ok"), "problems": deep.get("problems"), "checked": deep.get("checked")}}


def fingerprint(store_path: Path) -> dict[str, Any]:
    """Documents, chunk ids and graph rows of a store, for comparing two stores of the same folder."""
    from ragkit.store import Store

    store = Store(store_path)
    try:
        rows = graph_rows(store.db)
        return {
            "documents": {d["doc_id"]: d["content_hash"] for d in store.documents()},
            "chunks": sorted(store.all_chunk_ids()),
            "graph": {part: sorted(json.dumps(row) for row in c.elements()) for part, c in rows.items()},
        }
    finally:
        store.close()


# -- driving the ingests ---------------------------------------------------------------------------------

def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")


def _in_child(what: str, *args: str) -> Any:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", what, *args], env=_env(),
                          capture_output=True, text=True, timeout=3600, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


def full_index(store: Path, docs: Path, log: Path) -> float:
    """Index without a kill; returns the wall seconds of the subprocess."""
    log.unlink(missing_ok=True)
    t0 = time.monotonic()
    proc = subprocess.run(index_command(store, docs, log), env=_env(), capture_output=True, text=True, timeout=3600, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"index failed: {proc.stderr[-3000:]}")
    return time.monotonic() - t0


def killed_index(store: Path, docs: Path, log: Path, plan: tuple[str, Any]) -> dict[str, Any]:
    """Run an index and SIGKILL it as ``plan`` says: ("phase", NAME) or ("offset", SECONDS from spawn)."""
    log.unlink(missing_ok=True)
    kind, value = plan
    t0 = time.monotonic()
    if kind == "phase":
        proc = subprocess.run(index_command(store, docs, log, kill_at=value), env=_env(), capture_output=True,
                              timeout=3600, cwd=REPO)
        killed = proc.returncode == -signal.SIGKILL
        return {"plan": f"at start of {value}", "killed": killed,
                "landed": phase_at(log, time.monotonic()) if killed else "done", "after_s": time.monotonic() - t0}
    popen = subprocess.Popen(index_command(store, docs, log), env=_env(), cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while popen.poll() is None and time.monotonic() < t0 + value:
        time.sleep(0.002)
    moment = time.monotonic()
    popen.send_signal(signal.SIGKILL)
    popen.wait(60)
    killed = popen.returncode == -signal.SIGKILL
    return {"plan": f"{value:.2f} s after spawn", "killed": killed,
            "landed": phase_at(log, moment) if killed else "done", "after_s": moment - t0}


def kill_plans(n: int, rng: random.Random) -> list[tuple[str, Any]]:
    """One kill at the start of each write-protocol phase, the rest at random moments (drawn later)."""
    from ragkit.ingest import PHASES

    plans: list[tuple[str, Any]] = [("phase", p) for p in PHASES][:n]
    plans += [("offset", None)] * (n - len(plans))
    rng.shuffle(plans)
    return plans


def run(args: argparse.Namespace) -> dict[str, Any]:
    import ragkit
    from ragkit.config import Config, EmbedderConfig

    rng = random.Random(args.seed)
    work = Path(args.work or tempfile.mkdtemp(prefix="ragkit-crash-"))
    docs, store, log = work / "docs", work / "store", work / "phases.log"
    t0 = time.monotonic()
    make_corpus(docs, args.files, rng)
    made = time.monotonic() - t0
    config = Config(embedder=EmbedderConfig(name="hash"))
    config.graph.extractor = "fast"
    ragkit.open(store, config).close()
    print(f"corpus of {args.files} files made in {made:.1f} s in {docs}", file=sys.stderr)

    # the length of an uninterrupted full ingest, in a scratch store (random kills are drawn within it)
    scratch = work / "scratch"
    ragkit.open(scratch, config).close()
    full_s = full_index(scratch, docs, log)
    print(f"uninterrupted full ingest: {full_s:.1f} s", file=sys.stderr)
    estimate = full_s

    rounds: list[dict[str, Any]] = []
    plans = kill_plans(args.kills, rng)
    round_no = 0
    # until ``kills`` runs were killed (a drawn moment after the run ended kills nothing: that round is
    # checked and kept, and its plan drawn again), at most twice as many rounds
    while plans and round_no < 2 * args.kills:
        round_no += 1
        plan = plans[0]
        before = _in_child("state", str(store))
        change = {"added": args.files} if round_no == 1 else dict(mutate(docs, rng, round_no, args.change))
        after = on_disk(docs)
        if plan[0] == "offset":
            plan = ("offset", rng.uniform(0.0, estimate))
        kill = killed_index(store, docs, log, plan)
        readable = _in_child("after-kill", str(store), json.dumps(before), json.dumps(after))
        rerun_s = full_index(store, docs, log)
        if kill["killed"]:
            plans.pop(0)
        if round_no == 1:  # later rounds change ``change`` files: a guess until a rerun measures one
            estimate = 15.0 + full_s * args.change / args.files
        elif readable["state"] == "previous":
            estimate = rerun_s  # the rerun did the whole round's work: the length to draw moments in
        exact = _in_child("exact", str(store), str(docs))
        rounds.append({"round": round_no, "change": change, "kill": kill, "after_kill": readable,
                       "rerun_s": round(rerun_s, 1), "exact": exact})
        print(f"round {round_no}: {change} kill {kill['plan']} -> {kill['landed']} (killed={kill['killed']}); "
              f"after kill {readable['state']} {readable['problems'] or 'ok'}; rerun {rerun_s:.1f} s; "
              f"exact ok={exact['ok']} {exact['counts']}", file=sys.stderr)

    # the same folder into a fresh store, without a kill: the same documents, chunk ids and graph
    fresh = work / "fresh"
    ragkit.open(fresh, config).close()
    full_index(fresh, docs, log)
    same = _in_child("fingerprint", str(store)) == _in_child("fingerprint", str(fresh))
    totals = Counter()
    for r in rounds:
        totals.update(r["exact"]["counts"])
    return {
        "files": args.files, "kills_planned": args.kills, "seed": args.seed, "work": str(work),
        "corpus_seconds": round(made, 1), "uninterrupted_full_ingest_s": round(full_s, 1),
        "kills": sum(r["kill"]["killed"] for r in rounds),
        "landed": dict(Counter(r["kill"]["landed"] for r in rounds if r["kill"]["killed"])),
        "after_kill_problems": sum(len(r["after_kill"]["problems"]) for r in rounds),
        "after_kill_state": dict(Counter(r["after_kill"]["state"] for r in rounds)),
        "exact_ok_rounds": sum(r["exact"]["ok"] for r in rounds), "rounds_run": len(rounds),
        "totals": dict(totals), "final_sizes": rounds[-1]["exact"]["sizes"] if rounds else {},
        "fresh_store_identical": same, "seconds": round(time.monotonic() - t0, 1), "rounds": rounds,
    }


def child(what: str, rest: list[str]) -> Any:
    if what == "state":
        return committed_state(Path(rest[0]))
    if what == "after-kill":
        return check_after_kill(Path(rest[0]), json.loads(rest[1]), json.loads(rest[2]))
    if what == "exact":
        return check_exact(Path(rest[0]), Path(rest[1]))
    if what == "fingerprint":
        return fingerprint(Path(rest[0]))
    raise SystemExit(f"unknown child task {what!r}")


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--change", type=int, default=60, help="files added/edited/deleted per later round")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--work", help="folder for the corpus and stores (default: a new temp folder)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1:])))
        return 0
    result = run(args)
    ok = (result["kills"] == result["rounds_run"] and result["exact_ok_rounds"] == result["rounds_run"]
          and result["after_kill_problems"] == 0 and result["fresh_store_identical"])
    return harness.emit(result, args, indent=1, default=str, status=0 if ok else 1)


if __name__ == "__main__":
    sys.exit(main())
