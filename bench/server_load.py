"""REST server under load: concurrent clients asking and searching while index jobs run.

Starts `ragkit serve` (a separate process, default embedder MiniLM, extractive generator) on a free
loopback port over a store of examples/docs; measures unloaded search latency with one client; then
runs ``--clients`` client threads for ``--seconds`` (each: 3 searches then 1 ask, ``--think`` seconds
on average between requests, at most ``--max-requests`` each) while index jobs of ``--batch`` SciFact abstracts
run one after another through ``POST /index``. Stops by itself; reports throughput, p50/p95 latency
and errors per kind.

    .venv/bin/python bench/server_load.py --clients 16 --seconds 60 --json /tmp/server_load.json
"""
from __future__ import annotations

import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

ROOT = harness.ROOT
SCIFACT = harness.SHARED_DATA / "scifact"
TOPICS = [
    "rate limit for API tokens", "how to upgrade from version 2", "encryption of notes at rest",
    "webhook signature", "retention of field notes", "supported versions security fixes",
]
QUESTIONS = [q for q in (ROOT / "examples" / "questions.txt").read_text().splitlines() if q.strip()]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary(latencies: list[float], errors: int, seconds: float) -> dict[str, Any]:
    return {
        "requests": len(latencies) + errors,
        "errors": errors,
        "throughput_rps": round(len(latencies) / seconds, 2) if seconds else None,
        "p50_ms": round(1000 * percentile(latencies, 0.5), 1) if latencies else None,
        "p95_ms": round(1000 * percentile(latencies, 0.95), 1) if latencies else None,
        "max_ms": round(1000 * max(latencies), 1) if latencies else None,
    }


def search_queries(n: int) -> list[str]:
    """``n`` distinct queries (SciFact claims), so the query-embedding cache never answers for the model."""
    path = SCIFACT / "queries.jsonl"
    if path.exists():
        claims = [row["text"] for row in harness.read_jsonl(path)]
    else:
        claims = []
    claims += [f"{TOPICS[i % len(TOPICS)]} {i}" for i in range(max(0, n - len(claims)))]
    return claims[:n]


def abstracts(limit: int) -> list[str]:
    """SciFact abstracts for the index jobs (synthetic paragraphs when the data set is absent)."""
    if (SCIFACT / "corpus.jsonl.gz").exists():
        docs = harness.read_jsonl(SCIFACT / "corpus.jsonl.gz", limit)
        return [f"{doc.get('title', '')}\n\n{doc.get('text', '')}" for doc in docs]
    base = (ROOT / "examples" / "docs" / "faq.txt").read_text()
    return [f"Variant {i}.\n\n{base}" for i in range(limit)]


class Indexing(threading.Thread):
    """Keeps one index job running: writes a folder of ``batch`` new abstracts, POSTs it, polls, repeats."""

    def __init__(self, url: str, root: Path, texts: list[str], batch: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.url, self.root, self.texts, self.batch, self.stop = url, root, texts, batch, stop
        self.jobs: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.running = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            n = 0
            while not self.stop.is_set() and n * self.batch < len(self.texts):
                folder = self.root / f"batch-{n:03d}"
                folder.mkdir()
                for i, text in enumerate(self.texts[n * self.batch : (n + 1) * self.batch]):
                    (folder / f"doc-{i:04d}.txt").write_text(text, encoding="utf-8")
                n += 1
                response = client.post("/index", json={"paths": [str(folder)]})
                if response.status_code != 202:
                    self.errors.append(f"{response.status_code}: {response.text[:200]}")
                    return
                job_id = response.json()["job_id"]
                self.running.set()
                while True:  # a job finishes even after the load phase ended (it is counted if done)
                    job = client.get(f"/jobs/{job_id}").json()
                    if job["status"] in ("done", "failed"):
                        self.jobs.append(job)
                        break
                    time.sleep(0.5)


def client_loop(url: str, deadline: float, think: float, max_requests: int, out: dict[str, Any], seed: int) -> None:
    """3 searches then 1 ask, repeated until the deadline or ``max_requests``; every search a new query."""
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=120) as client:
        for i in range(max_requests):
            if time.monotonic() >= deadline:
                return
            kind = "ask" if i % 4 == 3 else "search"
            started = time.monotonic()
            try:
                if kind == "search":
                    with out["lock"]:
                        n, pool = out["next"], out["queries"]
                        out["next"] += 1
                    query = pool[n % len(pool)] + (f" ({n // len(pool)})" if n >= len(pool) else "")
                    response = client.get("/search", params={"q": query, "k": 5})
                else:
                    response = client.post("/ask", json={"question": QUESTIONS[(seed + i) % len(QUESTIONS)]})
                ok = response.status_code == 200
                if not ok:
                    out["error_samples"].append(f"{kind} {response.status_code}: {response.text[:200]}")
            except httpx.HTTPError as exc:
                ok = False
                out["error_samples"].append(f"{kind} {type(exc).__name__}: {exc}")
            took = time.monotonic() - started
            with out["lock"]:
                if ok:
                    out[kind].append(took)
                else:
                    out[f"{kind}_errors"] += 1
            if think:
                time.sleep(rng.uniform(0, 2 * think))  # mean ``think``: clients do not move in lockstep


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__, full_doc=True)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean seconds a client waits between requests (uniform 0..2x; 0: back to back)")
    parser.add_argument("--max-requests", type=int, default=5000, help="per client (a bound besides time)")
    parser.add_argument("--batch", type=int, default=100, help="abstracts per index job")
    parser.add_argument("--unloaded", type=int, default=60, help="serial searches for the unloaded baseline")
    parser.add_argument("--server-log", type=Path, default=None, help="keep the server's stderr here")
    args = parser.parse_args(argv)

    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", ORT_DISABLE_TELEMETRY="1")
    with tempfile.TemporaryDirectory(prefix="ragkit-load-") as tmp:
        work = Path(tmp)
        store, incoming = work / "store", work / "incoming"
        incoming.mkdir()
        py = [sys.executable, "-m", "ragkit.cli.main"]
        subprocess.run([*py, "index", str(ROOT / "examples" / "docs"), "--store", str(store), "--quiet"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*py, "config", f"server.allowed_root={incoming}", "--store", str(store), "--quiet"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        log = (args.server_log or work / "server.log").open("w")
        server = subprocess.Popen([*py, "serve", "--store", str(store), "--host", "127.0.0.1", "--open", "--port", str(port),
                                  "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            while True:
                if server.poll() is not None or time.monotonic() - started > 60:
                    raise SystemExit("ragkit serve did not start; see its log")
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            start_s = time.monotonic() - started
            with httpx.Client(base_url=url, timeout=120) as client:
                t = time.monotonic()
                queries = search_queries(args.unloaded + 1 + 1000)
                client.get("/search", params={"q": queries[0]}).raise_for_status()
                first_query_s = time.monotonic() - t
                client.post("/ask", json={"question": QUESTIONS[0]}).raise_for_status()
                unloaded = []
                for i in range(args.unloaded):
                    t = time.monotonic()
                    client.get("/search", params={"q": queries[1 + i], "k": 5}).raise_for_status()
                    unloaded.append(time.monotonic() - t)
                unloaded_ask = []
                for q in QUESTIONS:
                    t = time.monotonic()
                    client.post("/ask", json={"question": q}).raise_for_status()
                    unloaded_ask.append(time.monotonic() - t)

            stop = threading.Event()
            texts = abstracts(args.batch * 40)
            indexing = Indexing(url, incoming, texts, args.batch, stop)
            indexing.start()
            indexing.running.wait(30)
            out: dict[str, Any] = {"lock": threading.Lock(), "search": [], "ask": [], "search_errors": 0,
                                   "ask_errors": 0, "error_samples": [],
                                   "queries": queries[args.unloaded + 1 :], "next": 0}
            load_start = time.monotonic()
            deadline = load_start + args.seconds
            threads = [threading.Thread(target=client_loop, args=(url, deadline, args.think, args.max_requests, out, i))
                       for i in range(args.clients)]
            for th in threads:
                th.start()
            for th in threads:
                th.join(timeout=args.seconds + 180)
            load_seconds = time.monotonic() - load_start
            stop.set()
            indexing.join(timeout=600)
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()

    unloaded_p50 = percentile(unloaded, 0.5)
    loaded = summary(out["search"], out["search_errors"], load_seconds)
    done_jobs = [j for j in indexing.jobs if j["status"] == "done"]
    report = {
        "command": "python " + " ".join(sys.argv),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_end": os.getloadavg()},
        "settings": {"clients": args.clients, "seconds": args.seconds, "think_s": args.think,
                     "mix": "3 searches (k=5, each a new SciFact claim) : 1 ask (extractive, examples/questions.txt)", "index_batch": args.batch,
                     "embedder": "all-MiniLM-L6-v2"},
        "serve_start_s": round(start_s, 2),
        "first_query_s": round(first_query_s, 2),
        "unloaded": {"search": summary(unloaded, 0, sum(unloaded)), "ask": summary(unloaded_ask, 0, sum(unloaded_ask))},
        "loaded": {"search": loaded, "ask": summary(out["ask"], out["ask_errors"], load_seconds),
                   "seconds": round(load_seconds, 1)},
        "index_jobs": {"done": len(done_jobs), "failed": len(indexing.jobs) - len(done_jobs),
                       "documents_added": sum(j["result"]["added"] for j in done_jobs),
                       "chunks": sum(j["result"]["chunks"] for j in done_jobs), "errors": indexing.errors},
        "errors_total": out["search_errors"] + out["ask_errors"] + len(indexing.errors),
        "search_p95_loaded_over_p50_unloaded": (
            round(loaded["p95_ms"] / (1000 * unloaded_p50), 2) if loaded["p95_ms"] and unloaded_p50 else None
        ),
        "error_samples": out["error_samples"][:5],
    }
    return harness.emit(report, args, status=0 if report["errors_total"] == 0 else 1)


if __name__ == "__main__":
    raise SystemExit(main())
