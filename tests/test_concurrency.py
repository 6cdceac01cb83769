"""Readers in other processes, while a writer indexes, get results of one committed generation, and no
errors: the real thing with processes (``tests.harness.concurrency``), a shorter run than the bench's
(``bench/concurrency.py``: 4 readers, 60 s)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.harness.concurrency import check, run

pytestmark = pytest.mark.slow


def test_readers_see_one_committed_generation_while_a_writer_indexes(tmp_path: Path):
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    report = run(tmp_path, seconds=12.0, readers=3, python=sys.executable, env=env, cwd=REPO, startup=25.0)
    print(json.dumps(report, indent=1))
    assert report["exit_codes"] == [(0, "")] * 4
    assert report["errors"] == 0, report["examples"]
    assert report["mixed"] == report["unknown_generation"] == report["outside_generation"] == 0, report["examples"]
    assert report["stale_dense"] == 0, report["examples"]
    # the run exercised what it claims: several commits, seen by the readers, in every kind of call
    assert report["recorded_contiguous"] and report["generations_committed"] >= 3, report
    assert report["generations_seen"] >= 2, report
    assert report["fresh_dense_checked"] >= 1, report
    assert {"ask", "search:lexical", "search:dense", "search:hybrid", "search:auto"} <= set(report["by_op"]), report
    assert report["ok"]


def test_the_check_catches_a_mixed_or_stale_result():
    """The check itself: a result citing a chunk of another generation, one with no single generation,
    one whose dense top hit misses the generation's marker, and an error are each counted."""
    generations = [
        {"generation": 1, "ids": ["a", "b", "m1"], "markers": {"mk1": "m1"}},
        {"generation": 2, "ids": ["a", "c", "m1", "m2"], "markers": {"mk1": "m1", "mk2": "m2"}},
    ]
    ok = {"op": "search", "mode": "dense", "query": "mk2alpha mk2bravo", "generations": [2], "ids": ["m2", "a"], "cited": []}
    results = [
        ok,
        {**ok, "mode": "lexical", "generations": [1], "ids": ["a", "c"]},  # c is generation 2's
        {**ok, "generations": [1, 2]},
        {**ok, "ids": ["a", "m2"]},  # the marker of generation 2 is not on top: a stale dense view
        {**ok, "generations": [3]},
        {"op": "ask", "mode": None, "query": "q", "error": "InternalError: Error finding id"},
    ]
    report = check(generations, results)
    assert (report["outside_generation"], report["mixed"], report["stale_dense"], report["unknown_generation"],
            report["errors"]) == (1, 1, 1, 1, 1)
    assert report["fresh_dense_checked"] == 2 and not report["ok"]
