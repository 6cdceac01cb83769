"""Uploads go through the one write path: the same parse guard, ``[limits]`` and error texts as
``ragkit index``, the uploader's labels and the ``[access] rules``, and a namespace per principal, so
no principal replaces another's file. Against a real uvicorn on 127.0.0.1."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

import connectors.guard
import ragkit
from tests.conftest import hash_config, write_files
from tests.server.conftest import wait_job
from tests.server.live import LiveServer
from tests.test_ingest_hardening import hostile_parse

LONG = " ".join(f"Sentence {i} about the quarterly report and its many figures." for i in range(170))  # > 10,000 chars


def _listed(client) -> list[dict]:
    """The documents ``/documents`` lists for this client (its first page)."""
    return client.get("/documents").json()


def _kit(tmp_path: Path, **settings):
    config = hash_config()
    for key, value in settings.items():
        config.set(key, value)
    return ragkit.open(tmp_path / "store", config)


def _serve(kit):
    from ragkit.server.app import create_app

    return LiveServer(create_app(kit))


def test_upload_limits_match_ragkit_index(tmp_path: Path):
    assert len(LONG) > 10_000
    limits = {"limits.max_chars": 1000, "limits.max_chunks": 2}
    # what `ragkit index` says about the same files, in a store of its own
    docs = write_files(tmp_path / "docs", {"long.txt": LONG, "mid.txt": ". ".join(["word " * 60] * 3)})
    local = _kit(tmp_path / "local", **limits)
    expected = {Path(f["path"]).name: f["error"] for f in local.index([docs]).failed}
    local.close()
    assert set(expected) == {"long.txt"} and "limits.max_chars" in expected["long.txt"]

    kit = _kit(tmp_path, **limits)
    with _serve(kit) as server, server.client() as client:
        files = [("files", ("long.txt", LONG.encode())), ("files", ("ok.txt", b"Short and fine."))]
        job = wait_job(client, client.post("/index", files=files).json()["job_id"])
        assert job["status"] == "done", job
        failed = {f["path"]: f["error"] for f in job["result"]["failed"]}
        source = "uploads/@public/long.txt"
        assert failed == {source: expected["long.txt"].replace(str(docs / "long.txt"), source)}
        assert job["result"]["documents"] == ["uploads/@public/ok.txt"]
        assert [d["doc_id"] for d in _listed(client)] == ["uploads/@public/ok.txt"]
        assert kit.store.failures() == [{"path": source, "error": failed[source]}]  # retried next time, as index does
    kit.close()


def test_upload_chunk_limit(tmp_path: Path):
    kit = _kit(tmp_path, **{"limits.max_chunks": 2, "chunking.max_tokens": 32})
    text = "\n\n".join(f"Paragraph {i}: " + "many words in this paragraph " * 8 for i in range(12))
    with _serve(kit) as server, server.client() as client:
        job = wait_job(client, client.post("/index", files={"files": ("many.txt", text.encode())}).json()["job_id"])
        [failure] = job["result"]["failed"]
        assert failure["path"] == "uploads/@public/many.txt"
        assert failure["error"].startswith("uploads/@public/many.txt: chunk count ") and "limits.max_chunks" in failure["error"]
    kit.close()


def test_a_hanging_upload_times_out_and_the_job_thread_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(connectors.guard, "parse_file", hostile_parse)  # the worker hangs on hang*.md
    kit = _kit(tmp_path, **{"limits.parse_timeout": 1})
    with _serve(kit) as server, server.client() as client:
        started = time.monotonic()
        job = wait_job(client, client.post("/index", files={"files": ("hang.md", b"never parsed")}).json()["job_id"],
                       timeout=90)
        assert time.monotonic() - started < 60
        [failure] = job["result"]["failed"]
        assert failure == {"path": "uploads/@public/hang.md", "error": "uploads/@public/hang.md: parsing took longer"
                           " than 5 s (5 x limits.parse_timeout) without finishing; the parser was stopped"}
        after = wait_job(client, client.post("/index", files={"files": ("fine.md", b"# Fine\n\nParsed.")}).json()["job_id"])
        assert after["result"]["documents"] == ["uploads/@public/fine.md"]
    kit.close()


TOKENS = {"RK_UP_HR": ("tok-hr", ["hr"]), "RK_UP_LEGAL": ("tok-legal", ["legal"])}


@pytest.fixture
def labelled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for var, (token, _) in TOKENS.items():
        monkeypatch.setenv(var, token)
    monkeypatch.setenv("RK_UP_OWNER", "tok-owner")
    kit = _kit(tmp_path, **{"access.rules": [{"glob": "**/payroll*", "labels": ["finance"]}]})
    kit.config.server.token_env = "RK_UP_OWNER"
    kit.config.server.token_labels = ["*"]
    kit.config.server.tokens = [{"env": var, "labels": labels} for var, (_, labels) in TOKENS.items()]
    with _serve(kit) as server:
        yield server, kit
    kit.close()


def _as(server, token: str):
    return server.client(headers={"Authorization": f"Bearer {token}"})


def test_uploads_carry_the_uploaders_labels_and_never_overwrite(labelled):
    server, kit = labelled
    with _as(server, "tok-hr") as hr, _as(server, "tok-legal") as legal, _as(server, "tok-owner") as owner:
        job = wait_job(hr, hr.post("/index", files={"files": ("notes.txt", b"Salaries rise by four percent.")}).json()["job_id"])
        assert job["result"]["documents"] == ["uploads/hr/notes.txt"]
        job = wait_job(legal, legal.post("/index", files={"files": ("notes.txt", b"Contracts renew in March.")}).json()["job_id"])
        assert job["result"]["documents"] == ["uploads/legal/notes.txt"]
        docs = {d["doc_id"]: d["labels"] for d in _listed(owner)}
        assert docs == {"uploads/hr/notes.txt": ["hr"], "uploads/legal/notes.txt": ["legal"]}
        assert "Salaries" in kit.store.document_text("uploads/hr/notes.txt")  # not replaced by legal's upload
        # each reads only its own upload
        assert not legal.get("/search", params={"q": "salaries rise", "mode": "lexical"}).json()
        assert [h["doc_id"] for h in hr.get("/search", params={"q": "salaries rise", "mode": "lexical"}).json()] == [
            "uploads/hr/notes.txt"]
        assert legal.get("/documents/uploads/hr/notes.txt").status_code == 404
        assert "Salaries" not in legal.post("/ask", json={"question": "How much do salaries rise?"}).text
        # [access] rules apply to uploads too: hr's payroll file also gets "finance"
        job = wait_job(hr, hr.post("/index", files={"files": ("payroll.txt", b"Payroll runs on the 25th.")}).json()["job_id"])
        assert kit.store.doc_state("uploads/hr/payroll.txt")[1] == ["finance", "hr"]
        # a labels sidecar cannot relabel an upload
        files = [("files", ("memo.txt", b"Memo text.")), ("files", ("memo.txt.labels", b"legal"))]
        job = wait_job(hr, hr.post("/index", files=files).json()["job_id"])
        assert job["result"]["documents"] == ["uploads/hr/memo.txt"]
        assert kit.store.doc_state("uploads/hr/memo.txt")[1] == ["hr"]
        assert "labels sidecars are not read from uploads" in job["result"]["failed"][0]["error"]
        # the same principal uploading the same name again updates its own document
        job = wait_job(hr, hr.post("/index", files={"files": ("notes.txt", b"Salaries rise by five percent.")}).json()["job_id"])
        assert job["result"]["updated"] == 1 and "five" in kit.store.document_text("uploads/hr/notes.txt")
