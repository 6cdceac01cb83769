"""CLI contract: --store/--json/--quiet after every subcommand, one JSON document on stdout, and
every command documented in the README."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import typer.main

from ragkit.cli.main import app
from tests.conftest import REPO, hash_config, write_files


def _commands(group, prefix: str = "") -> dict:
    out = {}
    for name, cmd in group.commands.items():
        full = f"{prefix}{name}"
        if hasattr(cmd, "commands"):  # a group (typer may use its own click)
            out.update(_commands(cmd, full + " "))
        else:
            out[full] = cmd
    return out


def all_commands() -> dict:
    return _commands(typer.main.get_command(app))


def test_every_command_takes_store_json_quiet():
    commands = all_commands()
    assert {"index", "search", "stats", "check", "config get", "config set"} <= set(commands)
    group = typer.main.get_command(app).commands["config"]  # `ragkit config` alone shows the config
    assert {"--store", "--json", "--quiet"} <= {o for p in group.params for o in getattr(p, "opts", [])}
    for name, cmd in commands.items():
        opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
        assert {"--store", "--json", "--quiet"} <= opts, f"`ragkit {name}` lacks a common option"


def test_every_command_is_documented_in_readme():
    readme = (REPO / "README.md").read_text()
    for name in all_commands():
        assert f"ragkit {name}" in readme, f"`ragkit {name}` is not documented in README.md"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "ragkit.cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_index_and_search_json_contract(tmp_path: Path):
    import ragkit

    ragkit.open(tmp_path / "s", hash_config()).close()
    docs = write_files(tmp_path / "docs", {"a.txt": "Ports and certificates.", "bad.txt": b"\x00\xff" * 10})
    proc = _run("index", str(docs), "--store", str(tmp_path / "s"), "--json", "--meta", "team=red", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)  # exactly one JSON document
    assert set(report) == {"added", "updated", "deleted", "unchanged", "relabeled", "chunks", "failed"}
    assert report["added"] == 1 and report["failed"][0]["path"].endswith("bad.txt")
    assert "bad.txt" in proc.stderr  # failures are also reported on stderr
    proc = _run("search", "certificates", "--store", str(tmp_path / "s"), "--json", "--mode", "lexical",
                "--where", "team=red", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)
    assert hits and {"chunk_id", "score", "source", "page", "heading", "span", "text"} <= set(hits[0])
    for extra in (["--mode", "lexical"], ["--where", "team=nobody"]):
        proc = _run("search", "zzzz-nothing", "--store", str(tmp_path / "s"), "--json", "--quiet", *extra, cwd=tmp_path)
        assert proc.returncode == 0 and json.loads(proc.stdout) == [] and proc.stderr == ""
    proc = _run("search", "x", "--store", str(tmp_path / "s"), "--mode", "bogus", cwd=tmp_path)
    assert proc.returncode != 0 and "lexical, dense, hybrid" in proc.stderr


def test_index_missing_path_fails_clearly(tmp_path: Path):
    import ragkit

    ragkit.open(tmp_path / "s", hash_config()).close()
    proc = _run("index", str(tmp_path / "nope"), "--store", str(tmp_path / "s"), "--json", cwd=tmp_path)
    assert proc.returncode != 0 and "no such file or directory" in proc.stderr and proc.stdout == ""
