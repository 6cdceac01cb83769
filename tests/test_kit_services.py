"""A Kit builds its typed read parts (the Runtime) once, even when request threads ask at the same time."""
from __future__ import annotations

import threading
import time

import ragkit
from tests.conftest import hash_config


def test_concurrent_callers_get_one_runtime(tmp_path, monkeypatch):
    import ragkit.kit as kit_module

    kit = ragkit.open(tmp_path / "store", hash_config())
    built: list[object] = []
    start = threading.Barrier(8)
    real_build = kit_module.Runtime.build

    def slow_build(*args: object) -> object:
        time.sleep(0.2)  # a slow build (models, thread pools): every caller arrives meanwhile
        runtime = real_build(*args)
        built.append(runtime)
        return runtime

    monkeypatch.setattr(kit_module.Runtime, "build", slow_build)
    got: list[object] = []

    def call() -> None:
        start.wait()
        got.append(kit.runtime)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(built) == 1 and len(got) == 8 and all(g is built[0] for g in got)
    assert kit.retrieval is built[0].retrieval and kit.graph is built[0].graph  # one set of typed parts
    kit.close()
    assert kit.runtime is not built[0]  # closed: the next read builds the parts again


def test_real_retrieval_service_built_once_under_concurrent_searches(tmp_path):
    from tests.conftest import write_files

    kit = ragkit.open(tmp_path / "store", hash_config())
    kit.index(write_files(tmp_path / "docs", {"a.txt": "Giraffes sleep two hours a day.", "b.txt": "Owls hunt at night."}))
    kit.close()  # the services are built again on the next query
    start = threading.Barrier(6)
    services: list[object] = []

    def query() -> None:
        start.wait()
        kit.search("giraffes", k=1)
        services.append(kit.retrieval)

    threads = [threading.Thread(target=query) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(services) == 6 and len({id(s) for s in services}) == 1
    kit.close()
