"""Reader threads that query a fresh store at once load its lexical index once, and all get that one."""
from __future__ import annotations

import threading
import time

import ragkit
from ragkit.store import generations
from tests.conftest import hash_config, write_files


def test_concurrent_first_queries_load_the_lexical_index_once(tmp_path, monkeypatch):
    kit = ragkit.open(tmp_path / "store", hash_config())
    kit.index(write_files(tmp_path / "docs", {"a.txt": "Giraffes sleep two hours a day.", "b.txt": "Owls hunt at night."}))
    kit.close()  # a reopened store has no index loaded
    loads: list[int] = []
    real_load = generations.load

    def slow_load(*args, **kwargs):
        loads.append(1)
        time.sleep(0.2)  # every other thread arrives while this one loads
        return real_load(*args, **kwargs)

    monkeypatch.setattr(generations, "load", slow_load)
    start = threading.Barrier(6)
    got: list[object] = []
    errors: list[BaseException] = []

    def query() -> None:
        start.wait()
        try:
            got.append(kit.store.lexical())
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=query) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(loads) == 1 and len(got) == 6 and len({id(i) for i in got}) == 1
    kit.close()
