"""The server reads as the labels bound to each bearer token in the config: every query of the mixed
fixture through /search (every mode), /ask (JSON and streamed) and /documents, per token, with 0
forbidden chunks, ids, names or citations; a client cannot choose its labels; an open server reads
public documents only."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.access_fixture import DOCS, QUERIES, K, build, forbidden_for
from tests.server.live import LiveServer, sse_events

TOKENS = {  # token value -> labels, bound in [server]
    "tok-public": [], "tok-hr": ["hr"], "tok-legal": ["legal"], "tok-both": ["hr", "legal"], "tok-owner": ["*"],
}
ENV = {"tok-public": "RK_TEST_TOKEN_PUBLIC", "tok-hr": "RK_TEST_TOKEN_HR", "tok-legal": "RK_TEST_TOKEN_LEGAL",
       "tok-both": "RK_TEST_TOKEN_BOTH"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    from ragkit.server.app import create_app

    mp = pytest.MonkeyPatch()
    for token, var in ENV.items():
        mp.setenv(var, token)
    mp.setenv("RK_TEST_TOKEN_OWNER", "tok-owner")
    kit, docs = build(tmp_path_factory.mktemp("served"))
    kit.config.server.token_env = "RK_TEST_TOKEN_OWNER"
    kit.config.server.token_labels = ["*"]
    kit.config.server.tokens = [{"env": ENV[t], "labels": TOKENS[t]} for t in ENV]
    with LiveServer(create_app(kit)) as server:
        yield server, kit, docs
    mp.undo()


def _client(server, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return server.client(headers=headers)


@pytest.mark.parametrize("token", list(ENV))
def test_every_query_every_mode_per_token(served, token):
    server, kit, docs = served
    bad = forbidden_for(kit, docs, TOKENS[token])
    with _client(server, token) as client:
        for mode in ("lexical", "dense", "hybrid", "auto"):
            for query in QUERIES:
                r = client.get("/search", params={"q": query, "k": K, "mode": mode})
                assert r.status_code == 200, r.text
                hits = r.json()
                assert not {h["chunk_id"] for h in hits} & bad.chunks, (mode, query)
                assert not {h["doc_id"] for h in hits} & bad.docs
                bad.check_text(r.text, f"/search {token} {mode} {query!r}")
                if mode != "lexical":
                    assert len(hits) == min(K, len(bad.readable_chunks))
        for query in QUERIES:
            r = client.post("/ask", json={"question": query})
            assert r.status_code == 200, r.text
            assert not {c["chunk_id"] for c in r.json()["citations"]} & bad.chunks
            bad.check_text(r.text, f"/ask {token} {query!r}")
        with client.stream("POST", "/ask", json={"question": QUERIES[1], "stream": True}) as r:
            events = list(sse_events(r))
        bad.check(events, f"/ask stream {token}")
        listed = client.get("/documents").json()
        assert {d["doc_id"] for d in listed} == {str((docs / rel).resolve()) for rel in DOCS} - bad.docs
        for doc_id in bad.docs:  # a forbidden document does not exist for this token
            assert client.get(f"/documents/{doc_id}").status_code == 404
            assert client.delete(f"/documents/{doc_id}").status_code == 404
        readable = sorted({d["doc_id"] for d in listed})[0]
        assert client.get(f"/documents/{readable}").status_code == 200


def test_a_client_cannot_pick_its_labels(served):
    server, _kit, _docs = served
    with _client(server, "tok-public") as client:
        r = client.get("/search", params={"q": "bonus", "where": json.dumps({"@access": "hr"})})
        assert r.status_code == 400 and "reserved" in r.json()["error"]
        r = client.get("/search", params={"q": "bonus", "where": "@access=hr"})
        assert r.status_code == 400
        r = client.post("/ask", json={"question": "bonus?", "where": {"@access": "hr,legal"}})
        assert r.status_code == 400
    with _client(server, "tok-nobody") as client:
        assert client.get("/search", params={"q": "bonus"}).status_code == 401
    with _client(server, None) as client:
        assert client.get("/search", params={"q": "bonus"}).status_code == 401


def test_the_owner_token_reads_everything(served):
    server, _kit, _docs = served
    with _client(server, "tok-owner") as client:
        assert len(client.get("/documents").json()) == len(DOCS)
        hits = client.get("/search", params={"q": "Zebulon Quark bonus", "k": K, "mode": "lexical"}).json()
        assert any("Zebulon Quark" in h["text"] for h in hits)


def test_an_open_server_reads_public_documents_only(tmp_path: Path):
    from ragkit.server.app import create_app

    kit, docs = build(tmp_path)
    bad = forbidden_for(kit, docs, "")
    with LiveServer(create_app(kit)) as server, server.client() as client:
        assert client.get("/health").json()["auth"] is False
        for query in QUERIES:
            r = client.get("/search", params={"q": query, "k": K, "mode": "hybrid"})
            assert not {h["chunk_id"] for h in r.json()} & bad.chunks
            bad.check_text(r.text, f"open /search {query!r}")
        assert len(client.get("/documents").json()) == len([r for r in DOCS if r.startswith("public/")])


def test_bad_token_bindings_are_refused_at_start(tmp_path: Path, monkeypatch):
    from ragkit.access import AccessError
    from ragkit.server.app import create_app

    kit, _ = build(tmp_path)
    monkeypatch.setenv("RK_A", "same")
    monkeypatch.setenv("RK_B", "same")
    kit.config.server.tokens = [{"env": "RK_A", "labels": ["hr"]}, {"env": "RK_B", "labels": ["legal"]}]
    with pytest.raises(AccessError, match="two sets of labels"):
        create_app(kit)
    kit.config.server.tokens = [{"env": "RK_A", "labels": "hr"}]
    with pytest.raises(AccessError, match="list of labels"):
        create_app(kit)


def test_write_jobs_show_only_to_who_submitted_them(tmp_path: Path, monkeypatch):
    """A job's paths, results and errors name files: another principal must not see them."""
    from ragkit.server.app import create_app

    kit, _ = build(tmp_path / "s")
    monkeypatch.setenv("RK_JOB_HR", "tok-job-hr")
    monkeypatch.setenv("RK_JOB_LEGAL", "tok-job-legal")
    monkeypatch.setenv("RK_JOB_OWNER", "tok-job-owner")
    kit.config.server.token_env = "RK_JOB_OWNER"
    kit.config.server.token_labels = ["*"]
    kit.config.server.tokens = [{"env": "RK_JOB_HR", "labels": ["hr"]}, {"env": "RK_JOB_LEGAL", "labels": ["legal"]}]
    secret = tmp_path / "root" / "hr-only"
    secret.mkdir(parents=True)
    (secret / "salaries.txt").write_text("Salary bands of the hr team.", encoding="utf-8")
    kit.config.server.allowed_root = str(tmp_path / "root")
    with LiveServer(create_app(kit)) as server:
        with _client(server, "tok-job-hr") as hr:
            job_id = hr.post("/index", json={"paths": [str(secret)]}).json()["job_id"]
            assert [j["job_id"] for j in hr.get("/jobs").json()] == [job_id]
            assert hr.get(f"/jobs/{job_id}").status_code == 200
        with _client(server, "tok-job-legal") as legal:
            assert legal.get("/jobs").json() == []
            r = legal.get(f"/jobs/{job_id}")
            assert r.status_code == 404 and "salaries" not in r.text and "hr-only" not in r.text
        with _client(server, "tok-job-owner") as owner:
            assert [j["job_id"] for j in owner.get("/jobs").json()] == [job_id]
