"""``index --executor ray`` and ``batch --executor ray`` on a real local Ray (num_cpus=2) started here:
the store and the batch output must equal an in-process run on the same folder.

The Ray started by this module (with ragkit's own local start, :class:`RaySession`) is joined by the
``ragkit`` CLI subprocesses through ``RAY_ADDRESS`` (the way a cluster is used), and shut down at the
end with no process left behind. Meanwhile a thread samples the sockets of every process this test
process started (Ray's GCS, raylet, agents and workers, the CLI drivers): each one must be on loopback.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

import ragkit
from ragkit.batch import read_records, run_batch
from tests.conftest import REPO, write_files
from tests.fixtures_docs import make_csv, make_docx, make_text_pdf

QUESTIONS = [
    "How do I rotate the signing keys?",
    "What port does the server listen on?",
    "Which regions store backups?",
    "Who approves a production release?",
    "What is the retention period for audit logs?",
]
QUERIES = ["signing keys rotation", "backup regions", "audit log retention", "release approval", "zebra"]


class SocketWatch:
    """The inet sockets of process ``pid`` (default: this one) and of every process it started
    (recursively), sampled by a thread every ``interval`` seconds while the watch is open. psutil reads
    them from /proc."""

    def __init__(self, pid: int | None = None, interval: float = 0.25):
        self.pid = pid or os.getpid()
        self.interval = interval
        self.seen: set[tuple[int, str, str, str, int]] = set()  # (pid, process, status, ip, port)
        self.procs: dict[int, object] = {}  # psutil.Process of every process sampled, by pid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SocketWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def sample(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:  # the root exited
            return
        for proc in procs:
            try:
                label, sockets = _label(proc), proc.net_connections(kind="inet")
            except psutil.Error:  # exited meanwhile
                continue
            self.procs.setdefault(proc.pid, proc)
            for sock in sockets:
                if sock.laddr and sock.laddr.port:  # bound (a socket not yet bound has port 0)
                    self.seen.add((proc.pid, label, sock.status, sock.laddr.ip, sock.laddr.port))

    def listeners(self) -> dict[str, set[str]]:
        """Listening addresses by process kind."""
        out: dict[str, set[str]] = defaultdict(set)
        for _, label, status, ip, port in self.seen:
            if status == "LISTEN":
                out[label].add(f"{ip}:{port}")
        return dict(out)

    def off_loopback(self) -> list[tuple[int, str, str, str, int]]:
        from ragkit.executors.ray import is_loopback

        return sorted(s for s in self.seen if not is_loopback(s[3]))


def _label(proc) -> str:
    """``gcs_server``, ``raylet``, ``ray::IngestWorker`` (a Ray worker by its class), ``ragkit`` (a CLI
    run), ``pytest`` (this process), else the process name."""
    import psutil

    cmdline = proc.cmdline()
    if proc.pid == psutil.Process().pid:
        return "pytest"
    if cmdline and cmdline[0].startswith("ray::"):
        return cmdline[0].split(".")[0].split()[0]  # "ray::IngestWorker.embed" while it runs a method
    if "ragkit.cli.main" in " ".join(cmdline):
        return "ragkit"
    return proc.name()


def _assert_loopback_only(watch: SocketWatch, must_listen: set[str]) -> dict[str, set[str]]:
    """Every bound socket seen is on 127.0.0.1 / ::1 (or IPv4-mapped ::ffff:127.0.0.1), and each kind
    of process in ``must_listen`` was seen listening (so the check is not vacuous)."""
    listeners = watch.listeners()
    assert not watch.off_loopback(), f"sockets off loopback: {watch.off_loopback()}; listening: {listeners}"
    missing = must_listen - set(listeners)
    assert not missing, f"never saw {sorted(missing)} listen; saw {listeners}"
    return listeners


@pytest.fixture(scope="module")
def watch():
    """The socket watch over the whole module (the Ray below and every CLI run)."""
    with SocketWatch() as sockets:
        yield sockets


@pytest.fixture(scope="module")
def ray_address(watch: SocketWatch):
    """A local Ray with 2 CPUs, started here by ragkit's own local start (loopback only); yields its
    GCS address, then shuts it down and checks that every process it started has exited."""
    import psutil
    pytest.importorskip("ray")  # a declared dependency of the test extra: a skip fails in CI
    from ragkit.executors.ray import RaySession

    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "RAY_USAGE_STATS_ENABLED", "RAY_ADDRESS")}
    # Ray's workers inherit this environment: they must import this checkout of ragkit
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), saved["PYTHONPATH"]) if p)
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ.pop("RAY_ADDRESS", None)  # so the session starts a Ray rather than joining one
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    session = RaySession("ray", num_cpus=2)
    ray = session.connect()
    started = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    try:
        assert session.started and ray.cluster_resources().get("CPU") == 2
        yield ray.get_runtime_context().gcs_address
    finally:
        session.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _, alive = psutil.wait_procs(started, timeout=30)
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert not alive, f"Ray left processes behind: {[p.pid for p in alive]}"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small folder in several formats, with one broken file."""
    root = tmp_path_factory.mktemp("ray") / "docs"
    write_files(root, {
        "ops/keys.md": "# Key management\n\n## Rotation\n\nSigning keys are rotated every 90 days by the "
        "security team. The old key stays valid for 7 days.\n\n## Storage\n\nKeys live in the hardware "
        "security module in Frankfurt.\n",
        "ops/server.txt": "The API server listens on port 8443.\n\nHealth checks use port 8080. "
        "Requests time out after 30 seconds.\n",
        "web/backups.html": "<html><body><h1>Backups</h1><p>Nightly backups are stored in the eu-west-1 "
        "and eu-central-1 regions.</p><p>Backups are kept for 35 days.</p></body></html>",
        "broken.pdf": b"%PDF-1.7 this is not a real PDF",
    })
    for sub in ("policy", "data", "hr"):
        (root / sub).mkdir()
    make_text_pdf(root / "policy/release.pdf", [
        ["Release policy. A production release is approved by the release manager and one senior engineer."],
        ["Audit logs are retained for 400 days. Access to audit logs is limited to the security team."],
    ])
    make_csv(root / "data/owners.csv", [["service", "owner", "region"], ["billing", "Ana", "eu-west-1"],
                                        ["search", "Bo", "eu-central-1"], ["auth", "Chen", "us-east-1"]])
    make_docx(root / "hr/onboarding.docx", [("h1", "Onboarding"),
                                            ("p", "New engineers get production access after 30 days.")])
    return root


def _cli_command(*args: str, env: dict[str, str | None] | None = None) -> tuple[list[str], dict[str, str]]:
    """The `ragkit ARGS --json` command line and its environment (``env``: None values are removed)."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", **(env or {})}
    # the `ragkit` command; a hang (e.g. calls waiting on an actor that cannot start) fails with stacks
    # (after 540 s: a local Ray on two loaded cores took over 300 s to parse one file in a loaded CI run)
    code = ("import faulthandler, sys; faulthandler.dump_traceback_later(540, exit=True); "
            "from ragkit.cli.main import main; sys.argv[0] = 'ragkit'; main()")
    return [sys.executable, "-c", code, *args, "--json"], {k: v for k, v in full_env.items() if v is not None}


def _cli(*args: str, env: dict[str, str | None] | None = None) -> dict:
    command, full_env = _cli_command(*args, env=env)
    proc = subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def _graph_rows(kit) -> dict[str, list[tuple]]:
    db = kit.store.db
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'graph_%'")]
    return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def test_ragkit_local_ray_listens_on_loopback_only(tmp_path: Path):
    """`index --executor ray` with no RAY_ADDRESS: ragkit starts its own local Ray, every process of
    it listens on loopback only, and ragkit stops it at the end, leaving no process behind."""
    import psutil
    pytest.importorskip("ray")  # a declared dependency of the test extra: a skip fails in CI

    root = write_files(tmp_path / "docs", {"keys.md": "# Keys\n\nSigning keys are rotated every 90 days.\n"})
    command, env = _cli_command("index", str(root), "--executor", "ray", "--store", str(tmp_path / "s"),
                                env={"RAY_ADDRESS": None})
    with (subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc,
          SocketWatch(proc.pid) as sockets):
        out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    assert json.loads(out)["added"] == 1
    _assert_loopback_only(sockets, {"gcs_server", "raylet", "ray::RuntimeEnvAgent", "ray::IngestWorker", "ragkit"})
    started = [p for pid, p in sockets.procs.items() if pid != proc.pid]
    assert len(started) >= 4  # GCS, raylet, agents, a worker
    _, alive = psutil.wait_procs(started, timeout=30)
    alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"ragkit's local Ray left processes behind: {[(p.pid, p.name()) for p in alive]}"


def test_loopback_addresses():
    from ragkit.executors.ray import is_loopback, is_loopback_address

    assert all(is_loopback(ip) for ip in ("127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"))
    assert not any(is_loopback(ip) for ip in ("0.0.0.0", "::", "192.0.2.2", "::ffff:192.0.2.2"))
    assert all(is_loopback_address(a) for a in ("127.0.0.1:6379", "localhost:6379", "[::1]:6379"))
    assert not any(is_loopback_address(a) for a in ("10.0.0.5:6379", "head:6379", "auto", "ray://127.0.0.1:10001"))


def test_local_start_refuses_a_ray_that_would_listen_on_every_interface():
    """Without Ray's single-machine mode (as if a Ray version dropped the switch ragkit uses), the node
    gets the machine's address and Ray would listen on all interfaces: ragkit shuts it down and fails."""
    pytest.importorskip("ray")  # a declared dependency of the test extra: a skip fails in CI
    from ragkit.executors.ray import is_loopback

    code = (
        "import contextlib, ray, ragkit.executors.ray as rk\n"
        "from ray._common.network_utils import node_ip_address_from_perspective\n"
        "print('address:', node_ip_address_from_perspective())\n"
        "rk._loopback_kept = lambda ray: contextlib.nullcontext()\n"
        "try:\n"
        "    rk.start_local_ray(ray, 1, log_to_driver=False)\n"
        "    print('started', ray.get_runtime_context().gcs_address)\n"
        "    ray.shutdown()\n"
        "except RuntimeError as exc:\n"
        "    print('refused:', exc, ray.is_initialized())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    address = proc.stdout.split("address: ", 1)[1].split()[0]
    if is_loopback(address):  # a host with no address but loopback: Ray has nothing else to take
        assert "started 127.0.0.1:" in proc.stdout
        return
    assert "refused:" in proc.stdout and "would listen on every network interface" in proc.stdout
    assert proc.stdout.strip().endswith("False")  # Ray was shut down again


def test_ray_index_and_batch_equal_in_process(ray_address: str, watch: SocketWatch, folder: Path, tmp_path: Path):
    env = {"RAY_ADDRESS": ray_address}
    assert ray_address.startswith("127.0.0.1:")
    t0 = time.monotonic()
    ray_report = _cli("index", str(folder), "--executor", "ray", "--store", str(tmp_path / "ray"), env=env)
    ray_seconds = time.monotonic() - t0
    local = ragkit.open(tmp_path / "local")
    local_report = local.index(folder).to_dict()
    assert ray_report == local_report
    assert local_report["added"] == 6 and len(local_report["failed"]) == 1
    assert "broken.pdf" in local_report["failed"][0]["error"]

    remote = ragkit.open(tmp_path / "ray")
    ids = sorted(local.store.all_chunk_ids())
    assert ids and sorted(remote.store.all_chunk_ids()) == ids
    assert [c.to_dict() for c in remote.chunks(ids)] == [c.to_dict() for c in local.chunks(ids)]
    diff = np.abs(remote.store.vectors.get_vectors(ids) - local.store.vectors.get_vectors(ids)).max()
    assert diff <= 1e-6, f"vectors differ by {diff} (Ray index took {ray_seconds:.1f} s)"
    assert remote.store.documents() == local.store.documents()
    assert [remote.document_text(d["doc_id"]) for d in remote.documents()] == [
        local.document_text(d["doc_id"]) for d in local.documents()
    ]
    assert _graph_rows(remote) == _graph_rows(local)
    for query in QUERIES:
        got = [(h.chunk.chunk_id, round(h.score, 6)) for h in remote.search(query, k=10, mode="lexical")]
        want = [(h.chunk.chunk_id, round(h.score, 6)) for h in local.search(query, k=10, mode="lexical")]
        assert got == want, query

    questions = tmp_path / "questions.txt"
    questions.write_text("\n".join(QUESTIONS) + "\n", encoding="utf-8")
    local_out, ray_out = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    local_summary = run_batch(local, folder, questions, local_out)
    ray_summary = _cli("batch", str(folder), str(questions), "--out", str(ray_out), "--executor", "ray",
                       "--store", str(tmp_path / "ray"), env=env)
    assert ray_summary["asked"] == local_summary["asked"] == len(QUESTIONS)
    assert ray_summary["index"]["unchanged"] == 6  # the folder was indexed above: nothing to redo

    def by_id(path: Path) -> dict[str, dict]:
        return {r["id"]: {k: v for k, v in r.items() if k != "seconds"} for r in read_records(path)}

    assert by_id(ray_out) == by_id(local_out)
    assert any(not r.get("abstained") for r in by_id(local_out).values())  # real answers, not only abstentions

    # resumable as in-process: drop two records, and a re-run on Ray asks exactly those again
    kept = read_records(ray_out)[:-2]
    ray_out.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
    again = _cli("batch", str(folder), str(questions), "--out", str(ray_out), "--executor", "ray",
                 "--store", str(tmp_path / "ray"), env=env)
    assert (again["asked"], again["skipped"]) == (2, len(QUESTIONS) - 2)
    assert by_id(ray_out) == by_id(local_out)
    local.close()
    remote.close()

    # every process of this run (Ray's, the actors, the CLI drivers) listened on loopback only
    watch.sample()
    _assert_loopback_only(watch, {"gcs_server", "raylet", "ray::RuntimeEnvAgent", "ray::IngestWorker",
                                  "ray::AnswerWorker", "ragkit", "pytest"})


def test_unknown_executor_is_refused_with_the_choices(tmp_path: Path):
    proc = subprocess.run([sys.executable, "-m", "ragkit.cli.main", "index", str(tmp_path), "--executor", "spark",
                           "--store", str(tmp_path / "s")], env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "unknown executor 'spark'" in proc.stderr and "ray://HOST:PORT" in proc.stderr
    with pytest.raises(ValueError, match="valid: local, ray, ray:auto, ray://"):
        ragkit.Config().set("executor.name", "spark")
