"""Every REST endpoint through httpx against a real uvicorn on 127.0.0.1."""
from __future__ import annotations

import json
import threading
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.server.conftest import make_kit, serve, wait_job
from tests.server.live import sse_events


def _id(doc_id: str) -> str:
    return quote(doc_id, safe="")


def test_health_openapi_and_page(live):
    _, client = live
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["warm"] is False and health["auth"] is False
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/health", "/search", "/ask", "/index", "/documents", "/documents/{doc_id}", "/jobs/{job_id}"} <= set(paths)
    page = client.get("/")
    assert page.status_code == 200 and "ragkit" in page.text and "/ask" in page.text


def test_search_with_provenance_and_filters(live):
    _, client = live
    hits = client.get("/search", params={"q": "requests per minute", "k": 2}).json()
    assert len(hits) == 2
    top = hits[0]
    assert top["source"].endswith("api.md") and top["heading"] == "API" and top["doc_id"] == top["source"]
    assert {"chunk_id", "score", "page", "span", "text"} <= set(top)
    assert client.get("/health").json()["warm"] is True  # the first query loaded the models
    only = client.get("/search", params={"q": "encrypted", "where": "format=text"}).json()
    assert only and all(h["source"].endswith("faq.txt") for h in only)
    as_json = client.get("/search", params={"q": "encrypted", "where": json.dumps({"format": "text"})}).json()
    assert as_json == only


@pytest.mark.parametrize(
    "params, needle",
    [({"q": ""}, "q"), ({"q": "x", "k": 0}, "k"), ({"q": "x", "mode": "fuzzy"}, "lexical, dense, hybrid"),
     ({"q": "x", "where": "nokey"}, "key=value"), ({"q": "x", "where": "{bad"}, "JSON"), ({}, "q")],
)
def test_bad_search_is_400_json(live, params, needle):
    _, client = live
    response = client.get("/search", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and needle in body["error"] and "Traceback" not in response.text


def test_ask_json_has_citations_with_document_ids(live):
    _, client = live
    answer = client.post("/ask", json={"question": "How many requests per minute may a token make?"}).json()
    assert not answer["abstained"] and "600" in answer["answer"]
    citation = answer["citations"][0]
    assert citation["source"].endswith("api.md") and citation["doc_id"] == citation["source"]
    doc = client.get(f"/documents/{_id(citation['doc_id'])}").json()
    start, end = citation["span"]
    assert doc["text"][start:end] == citation["quote"]
    assert client.post("/ask", json={"question": ""}).status_code == 400
    assert client.post("/ask", json={"question": "x", "generator": "nope"}).status_code == 400
    followup = client.post("/ask", json={
        "question": "And at rest?",
        "history": [{"role": "user", "content": "How are notes encrypted?"},
                    {"role": "assistant", "content": "With AES-256."}],
    })
    assert followup.status_code == 200


def test_ask_streams_tokens_then_the_answer(tmp_path: Path):
    from tests.generation.fake_openai_server import FakeOpenAIServer

    kit = make_kit(tmp_path)
    pieces = ["Each token ", "may make 600 ", "requests per minute ", "[1]."]
    with FakeOpenAIServer() as fake:
        fake.script.append(("stream", pieces))
        kit.config.generator.base_url = fake.base_url
        kit.config.server.generators = ["openai"]  # a client may pick it
        with serve(kit) as server, server.client() as client:
            body = {"question": "How many requests per minute?", "stream": True, "generator": "openai"}
            with client.stream("POST", "/ask", json=body) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                events = list(sse_events(response))  # read event by event as they arrive
    kinds = [e for e, _ in events]
    assert kinds == ["token"] * len(pieces) + ["answer"]
    assert [d["text"] for _, d in events[:-1]] == pieces
    final = events[-1][1]
    assert "600" in final["answer"] and final["citations"] and final["citations"][0]["doc_id"].endswith("api.md")


def test_stream_reports_errors_as_an_event(tmp_path: Path):
    kit = make_kit(tmp_path)
    kit.config.generator.base_url = "http://127.0.0.1:9/v1"  # nothing listens: the generator fails
    kit.config.generator.max_retries = 0
    kit.config.server.generators = ["openai"]
    with serve(kit) as server, server.client() as client:
        with client.stream("POST", "/ask", json={"question": "port?", "stream": True, "generator": "openai"}) as r:
            text = r.read().decode()
    assert "event: error" in text and "Traceback" not in text


def test_documents_get_and_delete(live):
    _, client = live
    docs = client.get("/documents").json()
    assert sorted(Path(d["source"]).name for d in docs) == ["api.md", "faq.txt", "install.md"]
    faq = next(d for d in docs if d["source"].endswith("faq.txt"))
    doc = client.get(f"/documents/{_id(faq['doc_id'])}").json()
    assert doc["text"].startswith("Notes are encrypted") and doc["chunks"][0]["span"][0] == 0
    assert client.delete(f"/documents/{_id(faq['doc_id'])}").json()["deleted"] == faq["doc_id"]
    assert len(client.get("/documents").json()) == 2
    assert not client.get("/search", params={"q": "encrypted AES", "mode": "lexical"}).json()
    for method in ("GET", "DELETE"):
        missing = client.request(method, f"/documents/{_id('/no/such/doc')}")
        assert missing.status_code == 404 and missing.json()["error"].startswith("no document")
    assert client.get("/jobs/nope").status_code == 404


def test_index_paths_under_the_allowed_root(live, tmp_path: Path):
    _, client = live
    docs = tmp_path / "docs"
    (docs / "new.txt").write_text("Zebras have stripes for cooling.", encoding="utf-8")
    accepted = client.post("/index", json={"paths": [str(docs)], "meta": {"team": "zoo"}})
    assert accepted.status_code == 202
    job = wait_job(client, accepted.json()["job_id"])
    assert job["status"] == "done" and job["result"]["added"] == 1 and job["progress"]["embed"]["done"] >= 1
    hits = client.get("/search", params={"q": "zebras stripes", "where": "team=zoo"}).json()
    assert hits and hits[0]["source"].endswith("new.txt")
    dense = client.get("/search", params={"q": "Zebras have stripes for cooling.", "mode": "dense", "k": 1}).json()
    assert dense[0]["source"].endswith("new.txt")  # the server's vector reader sees the job's commit
    relative = client.post("/index", json={"paths": ["new.txt"]})
    assert wait_job(client, relative.json()["job_id"])["status"] == "done"
    (tmp_path / "secret.txt").write_text("outside", encoding="utf-8")
    for path in (str(tmp_path / "secret.txt"), "../secret.txt", "/etc"):
        denied = client.post("/index", json={"paths": [path]})
        assert denied.status_code == 403 and "outside the allowed root" in denied.json()["error"]
    assert client.post("/index", json={"paths": [str(docs / "missing.txt")]}).status_code == 404
    assert client.post("/index", json={"paths": []}).status_code == 400
    assert client.post("/index", content=b"not json", headers={"content-type": "application/json"}).status_code == 400


def test_server_paths_disabled_without_allowed_root(tmp_path: Path):
    kit = make_kit(tmp_path, allowed_root="")
    with serve(kit) as server, server.client() as client:
        denied = client.post("/index", json={"paths": [str(tmp_path / "docs")]})
    assert denied.status_code == 403 and "server.allowed_root" in denied.json()["error"]


def test_uploads_are_indexed_and_limited(tmp_path: Path):
    kit = make_kit(tmp_path, max_upload_bytes=2000)
    with serve(kit) as server, server.client() as client:
        files = [("files", ("../../notes.txt", b"Giraffes sleep about two hours a day.")),
                 ("files", ("bad.pdf", b"%PDF-1.4 broken"))]
        accepted = client.post("/index", files=files)
        assert accepted.status_code == 202
        job = wait_job(client, accepted.json()["job_id"])
        assert job["status"] == "done" and job["result"]["documents"] == ["uploads/@public/notes.txt"]
        assert job["result"]["failed"][0]["path"] == "uploads/@public/bad.pdf"
        hit = client.get("/search", params={"q": "giraffes sleep", "mode": "lexical"}).json()[0]
        assert hit["doc_id"] == "uploads/@public/notes.txt"
        assert client.get("/documents/uploads/@public/notes.txt").json()["text"].startswith("Giraffes")
        big = client.post("/index", files={"files": ("big.txt", b"x" * 5000)})
        assert big.status_code == 413 and "max_upload_bytes" in big.json()["error"]
        huge = client.post("/index", files={"files": ("huge.txt", b"x" * 200_000)})  # refused by length
        assert huge.status_code == 413
        assert client.post("/index", data={"note": "no file"}, files={}).status_code in (400, 415)
        assert len(client.get("/documents").json()) == 4


def test_auth_on_every_route_but_health(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("RAGKIT_TEST_TOKEN", "s3cret")
    kit = make_kit(tmp_path, token_env="RAGKIT_TEST_TOKEN")
    with serve(kit) as server, server.client() as client:
        assert client.get("/health").json()["auth"] is True
        for method, path in [("GET", "/search?q=port"), ("POST", "/ask"), ("POST", "/index"), ("GET", "/documents"),
                             ("GET", "/jobs/x"), ("GET", "/openapi.json"), ("DELETE", "/documents/x")]:
            refused = client.request(method, path)
            assert refused.status_code == 401, path
            assert refused.headers["www-authenticate"] == "Bearer" and "bearer token" in refused.json()["error"]
        wrong = client.get("/search", params={"q": "port"}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid bearer token"
        ok = client.get("/search", params={"q": "port"}, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and ok.json()


def test_store_locked_by_another_writer_is_409(live, tmp_path: Path):
    from ragkit.store import Store

    _, client = live
    other = Store(tmp_path / "store")  # another writer (its own lock file handle)
    with other.writer():
        busy = client.post("/index", json={"paths": [str(tmp_path / "docs")]})
        assert busy.status_code == 409 and "writing to this store" in busy.json()["error"]
        doc_id = client.get("/documents").json()[0]["doc_id"]
        assert client.delete(f"/documents/{_id(doc_id)}").status_code == 409
    other.close()


def test_searches_are_served_while_an_index_job_runs(live, tmp_path: Path, monkeypatch):
    import ragkit.ingest

    _, client = live
    paused, release = threading.Event(), threading.Event()
    original = ragkit.ingest.Indexer.commit_batch

    def hold(self, *args, **kwargs):  # the job stops mid-write, holding the write lock, until released
        paused.set()
        release.wait(30)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ragkit.ingest.Indexer, "commit_batch", hold)
    (tmp_path / "docs" / "later.txt").write_text("Penguins huddle to keep warm.", encoding="utf-8")
    job_id = client.post("/index", json={"paths": [str(tmp_path / "docs")]}).json()["job_id"]
    try:
        assert paused.wait(30)
        assert client.get(f"/jobs/{job_id}").json()["status"] == "running"
        during = client.get("/search", params={"q": "requests per minute"}, timeout=10)
        assert during.status_code == 200 and during.json()[0]["source"].endswith("api.md")
        assert not client.get("/search", params={"q": "penguins huddle", "mode": "lexical"}).json()
        assert client.get("/health").json()["jobs_running"] is True
        assert client.get(f"/jobs/{job_id}").json()["status"] == "running"
    finally:
        release.set()
    assert wait_job(client, job_id)["status"] == "done"
    assert client.get("/search", params={"q": "penguins huddle", "mode": "lexical"}).json()


def test_unexpected_errors_are_json_without_a_trace(live):
    server, client = live
    state = server.app.state.ragkit
    state.kit.search_batch = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom at /secret/path"))
    response = client.get("/search", params={"q": "x"})
    assert response.status_code == 500 and response.json()["error"] == "internal error (RuntimeError); see the server log"
    assert "Traceback" not in response.text and "/secret/path" not in response.text
