"""kill -9 during an ingest leaves the last committed state readable; the next ingest completes it.

The store commits an ingest in batches of ``BATCH_FILES`` changed files, one generation each, so a kill
mid-ingest leaves the batches committed before it: each document is in its old or its new state, the
new ones are the first changed files in scan order, whole batches of them, and the vanished files are
gone as soon as the first batch committed. Kills at phase starts alternate between the first and the
second batch (a merge is killed at the first one the run makes); a phase whose kill did not happen in
its turn (no merge that round) is tried again in later rounds.

Each round changes the corpus and runs an index in a subprocess (``tests.harness.index``) that logs the
moment each write phase starts. Then it is SIGKILLed, either at the start of a named phase (the harness
kills itself there) or at a random offset into a write phase, measured from that phase's start as read
from the log (offsets up to the phase's length in an uninterrupted run). The log then tells which phase
each kill landed in. After every kill the store is checked from a reader, indexed again without a kill,
and checked exactly against the files on disk.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import ragkit
from ragkit.ingest import PHASES
from ragkit.store import Store
from tests.conftest import REPO
from tests.harness.index import command as index_command
from tests.harness.index import committed_state, phase_at, read_log
from tests.graphs.conftest import graph_config  # hash embedder, fast entity recognizer
from tests.graphs.consistency import assert_graph_exact, check_consistency

WRITE_PHASES = ("vectors", "manifest", "delete", "lexical", "merge")
MIN_KILLS = 24
BATCH_FILES = 2  # changed files per committed batch (rounds change 2-5 files: one to three batches)
pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO))


def _mutate(docs: Path, rng: random.Random, round_no: int) -> None:
    """Add, edit or delete a few files; each round writes enough text that every phase takes time."""
    files = sorted(docs.glob("*.txt"))
    for _ in range(rng.randint(2, 5)):
        action = rng.random()
        if action < 0.5 or len(files) < 6:
            name = f"doc{round_no}_{rng.randint(0, 10**6)}.txt"
            paras = [f"Round {round_no} paragraph {i} about topic {rng.randint(0, 500)} and more words {i * 3}."
                     for i in range(rng.randint(40, 160))]
            (docs / name).write_text("\n\n".join(paras))
        elif action < 0.8:
            target = rng.choice(files)
            target.write_text(target.read_text() + f"\n\nEdited in round {round_no}.")
        else:
            target = rng.choice(files)
            target.unlink()
            files.remove(target)
        files = sorted(docs.glob("*.txt"))


def _on_disk(docs: Path) -> dict[str, str]:
    return {str(p.resolve()): hashlib.sha256(p.read_bytes()).hexdigest() for p in docs.glob("*.txt")}


def _check_readable(store_path: Path, before: dict[str, str], after: dict[str, str]) -> bool:
    """After a kill: each document is in its previous or its new state, the new ones being whole
    batches at the head of the changed files (scan order), and every committed chunk is searchable in
    both indexes (extra uncommitted vectors are invisible to readers). Returns whether some batches of
    the changed files were committed, not all."""
    store = Store(store_path)
    try:
        state = {d["doc_id"]: d["content_hash"] for d in store.documents()}
        for doc_id in set(state) | set(before) | set(after):
            assert state.get(doc_id) in (before.get(doc_id), after.get(doc_id)), doc_id
        changed = sorted(p for p in after if before.get(p) != after[p])
        done = [p for p in changed if state.get(p) == after[p]]
        assert done == changed[: len(done)], "committed files are not the first batches"
        assert len(done) % BATCH_FILES == 0 or len(done) == len(changed), "a batch committed in part"
        if done:
            assert not (set(before) - set(after)) & set(state), "vanished files outlived the first batch"
        manifest = set(store.all_chunk_ids())
        assert manifest <= store.vectors.ids()
        assert set(store.lexical().ids) == manifest
        assert check_consistency(store.db) == []  # the graph commits with the manifest
        return 0 < len(done) < len(changed)
    finally:
        store.close()


def _check_exact(store_path: Path, docs: Path) -> None:
    store = Store(store_path)
    try:
        assert {d["doc_id"]: d["content_hash"] for d in store.documents()} == _on_disk(docs)
        manifest = set(store.all_chunk_ids())
        assert store.vectors.ids() == manifest
        assert store.lexical_published()
        assert set(store.lexical().ids) == manifest
        assert store.db.execute("SELECT COUNT(*) FROM pending_deletes").fetchone()[0] == 0
        assert store.get_meta("dirty") is False
        counts = dict(store.db.execute("SELECT doc_id, COUNT(*) FROM chunks GROUP BY doc_id").fetchall())
        for d in store.documents():
            assert counts.get(d["doc_id"], 0) == d["chunks"]
        assert_graph_exact(store)
    finally:
        store.close()
    # every vector equals its cached one and lexical scores equal a fresh index (a fresh process: an
    # embedded chroma caches its state per process)
    proc = subprocess.run([sys.executable, "-m", "ragkit.cli.main", "check", "--store", str(store_path), "--json"],
                          env=_env(), capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0 and json.loads(proc.stdout)["ok"], proc.stdout + proc.stderr


def _calibrate(store_path: Path, docs: Path, log: Path, rng: random.Random) -> dict[str, float]:
    """Length of each phase in uninterrupted runs of typical rounds (until one of them merged lexical
    segments: the first commit writes one segment, a later one merges)."""
    durations: dict[str, float] = {}
    for round_no in range(6):
        _mutate(docs, rng, -round_no)
        log.unlink(missing_ok=True)
        subprocess.run(index_command(store_path, docs, log), env=_env(), check=True, capture_output=True, timeout=300,
                       cwd=REPO)
        entries = read_log(log)
        for (name, stamp), (_, nxt) in zip(entries, entries[1:]):
            durations[name] = max(durations.get(name, 0.0), nxt - stamp, 0.005)
        if "merge" in durations:
            break
    return durations


def _kill_into_phase(store_path: Path, docs: Path, log: Path, phase: str, offset: float) -> tuple[bool, str]:
    """Start an index, wait for ``phase`` to begin, SIGKILL ``offset`` seconds later; return (killed,
    the phase the kill landed in)."""
    log.unlink(missing_ok=True)
    proc = subprocess.Popen(index_command(store_path, docs, log), env=_env(), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = None
    deadline = time.monotonic() + 300
    while started is None and proc.poll() is None and time.monotonic() < deadline:
        started = next((stamp for name, stamp in read_log(log) if name == phase), None)
        if started is None:
            time.sleep(0.0005)
    if started is not None:
        time.sleep(max(0.0, started + offset - time.monotonic()))
    moment = time.monotonic()
    proc.send_signal(signal.SIGKILL)
    proc.wait(60)
    killed = proc.returncode == -signal.SIGKILL
    return killed, phase_at(log, moment) if killed else "done"


def test_kill_nine_at_every_phase_and_at_offsets_into_the_writes(tmp_path: Path):
    rng = random.Random(1234)
    docs = tmp_path / "docs"
    docs.mkdir()
    store_path = tmp_path / "store"
    log = tmp_path / "phases.log"
    config = graph_config()
    config.ingest.batch_files = BATCH_FILES
    ragkit.open(store_path, config).close()
    durations = _calibrate(store_path, docs, log, rng)
    assert set(WRITE_PHASES) <= set(durations), durations
    at_start: Counter[str] = Counter()
    landed: Counter[str] = Counter()
    offset_kills = 0
    partial = 0  # kills that left some batches of the round committed, not all
    round_no = 0
    def more() -> bool:
        return (
            sum(at_start.values()) + offset_kills < MIN_KILLS
            or set(at_start) != set(PHASES)
            or at_start["merge"] + landed["merge"] < 2
            or offset_kills < 16
            or any(landed[p] == 0 for p in WRITE_PHASES)
        )

    while round_no < 100 and more():
        round_no += 1
        before = committed_state(store_path)
        _mutate(docs, rng, round_no)
        after = _on_disk(docs)
        if round_no % 2:
            turn = round_no // 2
            missing = [p for p in PHASES if not at_start[p]]
            # one rotation through the phases, then the phases whose kill did not happen (a merge runs only
            # when the segment sizes ask for one, which depends on where earlier kills landed)
            phase = PHASES[turn % len(PHASES)] if turn < len(PHASES) or not missing else missing[turn % len(missing)]
            # the second batch's phase, when the round has one; a merge at the first one the run makes
            nth = 2 if round_no % 4 == 3 and phase != "merge" else 1
            log.unlink(missing_ok=True)
            proc = subprocess.run(index_command(store_path, docs, log, kill_at=f"{phase}:{nth}"), env=_env(),
                                  cwd=REPO, capture_output=True, timeout=300)
            if proc.returncode == -signal.SIGKILL:
                at_start[phase] += 1
                assert phase_at(log, time.monotonic()) == phase
        else:
            phase = WRITE_PHASES[(round_no // 2) % len(WRITE_PHASES)]
            killed, where = _kill_into_phase(store_path, docs, log, phase, rng.uniform(0, durations[phase]))
            if killed:
                offset_kills += 1
                landed[where] += 1
        partial += _check_readable(store_path, before, after)
        subprocess.run(index_command(store_path, docs, log), env=_env(), check=True, capture_output=True,
                       timeout=300, cwd=REPO)
        _check_exact(store_path, docs)
    print(f"kills at phase starts: {dict(at_start)}; offset kills landed in: {dict(landed)}; "
          f"kills after some batches committed: {partial}")
    assert partial >= 3  # interrupted ingests kept their committed batches
    assert sum(at_start.values()) + offset_kills >= MIN_KILLS
    assert set(at_start) == set(PHASES)  # every phase was killed at its start
    # kills timed from the start of a write phase land where the writes are, not before them
    in_writes = sum(landed[p] for p in WRITE_PHASES)
    assert offset_kills >= 16 and in_writes >= 0.75 * offset_kills, dict(landed)
    assert all(landed[p] >= 1 for p in WRITE_PHASES), dict(landed)
    assert at_start["merge"] + landed["merge"] >= 2  # lexical merges were killed, and recovered from
