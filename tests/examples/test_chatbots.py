"""The terminal chatbot (multi-turn, citations with file and page) and the batch-QA example, as scripts."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, hash_config


def _run(script: str, *args: str, stdin: str = "", cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, str(REPO / "examples" / script), *args], input=stdin, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _store(tmp_path: Path) -> Path:
    import ragkit

    ragkit.open(tmp_path / "store", hash_config()).close()  # the fast embedder; the examples keep its config
    return tmp_path / "store"


def test_terminal_chatbot_multi_turn_with_citations(tmp_path: Path):
    store = _store(tmp_path)
    proc = _run("chat.py", "--store", str(store), stdin="Which port does the REST API listen on?\nIs it HTTPS?\n\n",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    turns = proc.stdout.split("you> ")[1:]
    assert len(turns) == 2
    assert "7443" in turns[0] and "[1] api.html" in turns[0]
    assert "ragkit> " in turns[1] and "api.html" in turns[1]  # the follow-up found the same document


def test_batch_qa_writes_a_csv_report(tmp_path: Path):
    store = _store(tmp_path)
    out = tmp_path / "report.csv"
    proc = _run("batch_qa.py", "--store", str(store), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    questions = [q for q in (REPO / "examples" / "questions.txt").read_text().splitlines() if q.strip()]
    assert [r["question"] for r in rows] == questions
    port = rows[0]
    assert "7443" in port["answer"] and "api.html" in port["sources"] and port["abstained"] == "False"
    assert all(0.0 <= float(r["grounded"]) <= 1.0 and float(r["seconds"]) >= 0 for r in rows)
