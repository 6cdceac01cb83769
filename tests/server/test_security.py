"""The server refuses what a web page, a rebinding DNS name or an oversized request could make it do
(issue 20: defects 1, 4, 6 and the server parts of 9). Against a real uvicorn on 127.0.0.1."""
from __future__ import annotations

import json
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.server.conftest import make_kit, serve, wait_job

EVIL = "http://evil.example"


# -- 1. cross-site requests, DNS rebinding ---------------------------------------------------------


def test_json_routes_refuse_other_content_types_with_415(live, tmp_path: Path):
    _, client = live
    body = json.dumps({"paths": [str(tmp_path / "docs")]})
    # a cross-site form or fetch may send text/plain without a CORS preflight
    for ctype in ("text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded"):
        refused = client.post("/index", content=body, headers={"content-type": ctype})
        assert refused.status_code == 415, (ctype, refused.text)
        assert refused.json()["status"] == 415 and "application/json" in refused.json()["error"]
    ask = json.dumps({"question": "Which port does the API listen on?"})
    assert client.post("/ask", content=ask, headers={"content-type": "text/plain"}).status_code == 415
    assert client.post("/ask", content=ask).status_code == 415  # no Content-Type at all
    assert client.get("/jobs").json() == []  # nothing was started
    ok = client.post("/ask", content=ask, headers={"content-type": "application/json; charset=utf-8"})
    assert ok.status_code == 200 and "7443" in ok.json()["answer"]


def test_writes_from_a_foreign_origin_are_403(live):
    server, client = live
    doc_id = client.get("/documents").json()[0]["doc_id"]
    foreign = {"Origin": EVIL}
    upload = client.post("/index", files={"files": ("x.txt", b"planted")}, headers=foreign)
    assert upload.status_code == 403 and "origin" in upload.json()["error"].lower()
    assert client.post("/ask", json={"question": "port?"}, headers=foreign).status_code == 403
    assert client.delete(f"/documents/{quote(doc_id, safe='')}", headers=foreign).status_code == 403
    assert client.post("/ask", json={"question": "port?"}, headers={"Origin": "null"}).status_code == 403
    assert client.get("/jobs").json() == [] and len(client.get("/documents").json()) == 3
    # the page itself (same origin) and clients that send no Origin (curl, SDKs) still write
    same = client.post("/ask", json={"question": "Which port?"}, headers={"Origin": server.url})
    assert same.status_code == 200
    assert client.post("/ask", json={"question": "Which port?"}).status_code == 200
    # reads from elsewhere are answered, but CORS is off: a browser does not hand them to the page
    read = client.get("/search", params={"q": "port"}, headers=foreign)
    assert read.status_code == 200 and "access-control-allow-origin" not in read.headers


def test_cors_only_for_configured_origins(tmp_path: Path):
    app_origin = "http://app.example:3000"
    kit = make_kit(tmp_path, cors_origins=[app_origin])
    with serve(kit) as server, server.client() as client:
        preflight = client.options("/ask", headers={
            "Origin": app_origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,authorization"})
        assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == app_origin
        asked = client.post("/ask", json={"question": "Which port?"}, headers={"Origin": app_origin})
        assert asked.status_code == 200 and asked.headers["access-control-allow-origin"] == app_origin
        assert client.post("/ask", json={"question": "port?"}, headers={"Origin": EVIL}).status_code == 403
        other = client.options("/ask", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in other.headers


def test_host_allow_list_stops_dns_rebinding(live):
    server, client = live
    for host in ("rebind.example", f"rebind.example:{server.port}", "127.0.0.1.evil.example"):
        refused = client.get("/search", params={"q": "encrypted"}, headers={"Host": host})
        assert refused.status_code == 400, host
        assert "host" in refused.json()["error"].lower() and "AES" not in refused.text
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", f"[::1]:{server.port}", "localhost"):
        assert client.get("/search", params={"q": "encrypted"}, headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_are_configurable(tmp_path: Path):
    kit = make_kit(tmp_path, allowed_hosts=["rag.internal", "*.corp.example"])
    with serve(kit) as server, server.client() as client:
        for host in ("rag.internal", f"rag.internal:{server.port}", "search.corp.example"):
            assert client.get("/health", headers={"Host": host}).status_code == 200, host
        assert client.get("/health", headers={"Host": "localhost"}).status_code == 400


# -- 4. bounded requests ---------------------------------------------------------------------------


def test_a_20_mb_json_body_is_413(live, tmp_path: Path):
    _, client = live
    big = json.dumps({"paths": [str(tmp_path / "docs")], "meta": {"note": "x" * 20_000_000}}).encode()
    refused = client.post("/index", content=big, headers={"content-type": "application/json"})
    assert refused.status_code == 413 and "server.max_body_bytes" in refused.json()["error"]

    def chunked():  # no Content-Length: counted while it streams in
        for i in range(0, len(big), 1 << 20):
            yield big[i:i + (1 << 20)]

    streamed = client.post("/ask", content=chunked(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert client.get("/jobs").json() == []


def test_over_long_fields_are_422(live, tmp_path: Path):
    _, client = live
    long_question = client.post("/ask", json={"question": "Which port? " + "x" * 20_000})
    assert long_question.status_code == 422, long_question.text
    assert "server.max_question_chars" in long_question.json()["error"]
    turns = [{"role": "user", "content": "Which port?"}] * 500
    assert client.post("/ask", json={"question": "And?", "history": turns}).status_code == 422
    long_turn = [{"role": "user", "content": "y" * 20_000}]
    assert client.post("/ask", json={"question": "And?", "history": long_turn}).status_code == 422
    where = {f"key{i}": "v" * 100 for i in range(200)}
    assert client.post("/ask", json={"question": "Which port?", "where": where}).status_code == 422
    search = client.get("/search", params={"q": "port " * 5000})
    assert search.status_code == 422
    meta = client.post("/index", json={"paths": [str(tmp_path / "docs")], "meta": {"note": "z" * 100_000}})
    assert meta.status_code == 422 and "server.max_meta_chars" in meta.json()["error"]
    assert client.get("/jobs").json() == []


def test_documents_are_paged(tmp_path: Path):
    kit = make_kit(tmp_path, page_size=2)
    with serve(kit) as server, server.client() as client:
        first = client.get("/documents")
        assert first.status_code == 200 and len(first.json()) == 2  # server.page_size by default
        assert 'rel="next"' in first.headers["link"] and "offset=2" in first.headers["link"]
        rest = client.get("/documents", params={"offset": 2})
        assert len(rest.json()) == 1 and "link" not in rest.headers
        assert len(client.get("/documents", params={"limit": 3}).json()) == 3
        names = [Path(d["source"]).name for d in first.json() + rest.json()]
        assert names == ["api.md", "faq.txt", "install.md"]
        assert client.get("/documents", params={"limit": 100_000}).status_code == 400
        assert client.get("/documents", params={"offset": -1}).status_code == 400


# -- 6. the generator is the server's choice -------------------------------------------------------


def test_only_allowed_generators_answer(tmp_path: Path):
    kit = make_kit(tmp_path)
    kit.config.generator.base_url = "http://127.0.0.1:9/v1"  # if it were loaded, it would fail
    kit.config.generator.max_retries = 0
    with serve(kit) as server, server.client() as client:
        for name in ("openai", "local", "vllm"):
            refused = client.post("/ask", json={"question": "Which port?", "generator": name})
            assert refused.status_code == 403, (name, refused.text)
            assert "extractive" in refused.json()["error"] and "server.generators" in refused.json()["error"]
        assert client.post("/ask", json={"question": "Which port?", "generator": "extractive"}).status_code == 200
    kit = make_kit(tmp_path / "allowed", generators=["extractive", "openai"])
    kit.config.generator.base_url = "http://127.0.0.1:9/v1"
    kit.config.generator.max_retries = 0
    with serve(kit) as server, server.client() as client:
        assert client.post("/ask", json={"question": "Which port?", "generator": "local"}).status_code == 403
        tried = client.post("/ask", json={"question": "Which port?", "generator": "openai"})
        assert tried.status_code != 403  # allowed: it is tried (and fails: nothing listens)


# -- 9. write jobs queue, and leave nothing behind ---------------------------------------------------


def test_a_lock_check_never_overlaps_the_servers_own_job(tmp_path: Path):
    """The 409 check takes the store's lock for an instant: a job of this server starting meanwhile
    waits for it instead of failing, and while a job of ours runs the check is skipped."""
    from ragkit.server.jobs import JobRunner
    from ragkit.store.lock import StoreLockedError, writer_lock

    lock = tmp_path / "write.lock"
    holding, release = threading.Event(), threading.Event()

    def op(_kit, _progress, hold: bool = False):
        with writer_lock(lock, 0):  # as Kit.index does: no waiting
            if hold:
                holding.set()
                release.wait(10)
            return {"ok": True}

    runner = JobRunner(lambda: None, {"index": op})
    inside, go = threading.Event(), threading.Event()

    def slow_check():
        with writer_lock(lock, 0):
            inside.set()
            go.wait(10)

    checking = threading.Thread(target=runner.check, args=(slow_check,))
    checking.start()
    assert inside.wait(10)
    job, future = runner.submit("index", {})
    time.sleep(0.3)
    go.set()
    checking.join(10)
    assert future.result(10) == {"ok": True} and job.status == "done"

    job, future = runner.submit("index", {"hold": True})
    assert holding.wait(10)
    calls = []
    runner.check(lambda: calls.append(1))  # our own job holds the lock: skipped, not a 409
    assert calls == []
    release.set()
    assert future.result(10) == {"ok": True}

    def probe():
        with writer_lock(lock, 0):
            pass

    with writer_lock(lock, 0):  # another holder (no job of ours): the check raises, a 409
        with pytest.raises(StoreLockedError):
            runner.check(probe)
    runner.check(probe)
    runner.close()


def test_cancelled_uploads_leave_no_temp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from ragkit.server import writer

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    started, release = threading.Event(), threading.Event()

    def hold(_kit, _progress, **_):
        started.set()
        release.wait(30)
        return {}

    monkeypatch.setitem(writer.OPERATIONS, "index", hold)
    kit = make_kit(tmp_path)
    with serve(kit) as server:
        state = server.app.state.ragkit
        with server.client() as client:
            client.post("/index", json={"paths": ["api.md"]})
            assert started.wait(30)
            queued = [client.post("/index", files={"files": (f"n{i}.txt", b"queued upload")}) for i in range(2)]
            assert [r.status_code for r in queued] == [202, 202]
            assert list(temp.rglob("ragkit-upload-*"))  # received, waiting for the running job
        threading.Timer(2.0, release.set).start()  # the running job ends after the shutdown began
    assert [state.jobs.get(r.json()["job_id"]).status for r in queued] == ["cancelled", "cancelled"]
    assert list(temp.rglob("ragkit-upload-*")) == []
    assert [p.name for p in temp.iterdir()] == []


def test_two_index_requests_at_once_both_run(live, tmp_path: Path):
    _, client = live
    docs = tmp_path / "docs"
    results: list[httpx.Response] = []

    def post(i: int) -> None:
        (docs / f"more{i}.txt").write_text(f"Extra note number {i}.", encoding="utf-8")
        results.append(client.post("/index", json={"paths": [str(docs)]}))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [202] * 6
    assert all(wait_job(client, r.json()["job_id"])["status"] == "done" for r in results)
