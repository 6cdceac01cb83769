"""Concurrent searches are answered in batches, each request with its own hits."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ragkit.access import Scope
from ragkit.server.batching import SearchBatcher


def test_concurrent_requests_share_batches_and_get_their_own_results():
    calls: list[list[str]] = []
    gate = threading.Event()

    def run(queries, k, mode, where):
        calls.append(list(queries))
        if len(calls) == 1:
            gate.wait(5)  # the first batch is slow: the others queue up behind it
        return [f"{q}:{k}:{mode}:{where.where}" for q in queries]

    batcher = SearchBatcher(run, max_batch=8)
    with ThreadPoolExecutor(12) as pool:
        first = pool.submit(batcher.search, "q0", 5)
        time.sleep(0.1)
        rest = [pool.submit(batcher.search, f"q{i}", 5) for i in range(1, 11)]
        odd = pool.submit(batcher.search, "x", 3, "lexical", Scope.of({"team": "a"}))
        time.sleep(0.2)
        gate.set()
        assert first.result(5) == "q0:5:None:{}"
        assert [f.result(5) for f in rest] == [f"q{i}:5:None:{{}}" for i in range(1, 11)]
        assert odd.result(5) == "x:3:lexical:{'team': 'a'}"
    assert calls[0] == ["q0"] and len(calls) <= 4  # 10 queued queries took at most 2 batches of 8, plus "x"
    assert max(len(c) for c in calls) == 8


def test_an_error_reaches_every_request_of_its_batch_only():
    def run(queries, k, mode, where):
        if "bad" in queries:
            raise ValueError("boom")
        return queries

    batcher = SearchBatcher(run)
    with pytest.raises(ValueError, match="boom"):
        batcher.search("bad", 1)
    assert batcher.search("good", 1) == "good"


def test_principals_never_share_a_batch():
    """Requests batch only with the same scope: the same filters read as different principals run apart."""
    calls: list[tuple[list[str], Scope]] = []
    gate = threading.Event()

    def run(queries, k, mode, where):
        calls.append((list(queries), where))
        if len(calls) == 1:
            gate.wait(5)
        return [f"{q}:{where.principal.key() if where.principal else '*'}" for q in queries]

    batcher = SearchBatcher(run)
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(batcher.search, "q0", 5)
        time.sleep(0.1)
        hr = [pool.submit(batcher.search, f"h{i}", 5, None, Scope.of({"team": "a"}, "hr")) for i in range(2)]
        public = [pool.submit(batcher.search, f"p{i}", 5, None, Scope.of({"team": "a"}, "")) for i in range(2)]
        time.sleep(0.2)
        gate.set()
        assert first.result(5) == "q0:*"
        assert [f.result(5) for f in hr] == ["h0:hr", "h1:hr"]
        assert [f.result(5) for f in public] == ["p0:", "p1:"]
    expected = {"q": None, "h": "hr", "p": ""}  # each batch holds the queries of one principal only
    for queries, where in calls:
        assert {expected[q[0]] for q in queries} == {where.principal.key() if where.principal else None}
