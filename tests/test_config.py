"""One config: checked keys and values (listing the valid ones), nested tables, environment overrides
documented in one table, and nothing else read from or written to the environment."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ragkit.config import Config, env_overrides
from ragkit.offline import OFFLINE_ENV
from tests.conftest import REPO, hash_config


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ragkit.cli.main", *args], env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        capture_output=True, text=True, timeout=300,
    )


def test_config_set_as_documented(tmp_path: Path):
    store = str(tmp_path / "s")
    proc = cli("config", "set", "generator.name", "local", "--store", store)  # docs/generation.md
    assert proc.returncode == 0, proc.stderr
    assert Config.load(store).generator.name == "local"
    proc = cli("config", "set", "vector_store.hnsw.ef_search=300", "retrieval.k=7", "--store", store, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"vector_store.hnsw.ef_search": 300, "retrieval.k": 7}
    saved = Config.load(store)
    assert saved.vector_store.hnsw["ef_search"] == 300 and saved.vector_store.hnsw["space"] == "cosine"
    assert saved.retrieval.k == 7
    proc = cli("config", "get", "vector_store.hnsw.ef_search", "--store", store, "--json")
    assert json.loads(proc.stdout) == {"vector_store.hnsw.ef_search": 300}


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("generator.name=gpt5", "generator.name='gpt5' is not valid; valid: extractive, local, openai, vllm"),
        ("retrieval.mode=fuzzy", "valid: hybrid, lexical, dense"),
        ("generator.nmae=local", "unknown key 'nmae' in [generator]; valid: name, model, base_url"),
        ("genrator.name=local", "unknown config section 'genrator'; valid: embedder, chunking, retrieval"),
        ("retrieval.k=ten", "retrieval.k must be a whole number, got 'ten'"),
        ("embedder.cache=maybe", "embedder.cache must be true or false, got 'maybe'"),
        ("vector_store.hnsw.ef=3", "unknown key 'ef' in vector_store.hnsw; valid: space, ef_search"),
        ("ocr.engine=easyocr", "valid: '', rapidocr, tesseract, none"),
    ],
)
def test_config_set_refuses_invalid_keys_and_values(tmp_path: Path, setting: str, message: str):
    store = str(tmp_path / "s")
    proc = cli("config", "set", setting, "--store", store)
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr
    assert Config.load(store) == Config()  # nothing saved


def test_invalid_config_file_names_the_file_and_the_problem(tmp_path: Path):
    (tmp_path / "config.toml").write_text('[generator]\nname = "gpt5"\n')
    with pytest.raises(ValueError, match=r"config.toml: generator.name='gpt5' is not valid; valid: extractive"):
        Config.load(tmp_path)


def test_environment_overrides_every_setting_but_are_never_saved(tmp_path: Path):
    env = {"RAGKIT_GENERATOR_BASE_URL": "http://127.0.0.1:9/v1", "RAGKIT_OCR_ENGINE": "none",
           "RAGKIT_RETRIEVAL_K": "4", "RAGKIT_NOT_A_SETTING": "x", "HOME": "/root"}
    assert env_overrides(env) == {"generator.base_url": "http://127.0.0.1:9/v1", "ocr.engine": "none", "retrieval.k": "4"}
    Config().save(tmp_path)
    config = Config.load(tmp_path, env=env)
    assert (config.generator.base_url, config.ocr.engine, config.retrieval.k) == ("http://127.0.0.1:9/v1", "none", 4)
    proc = cli("config", "set", "retrieval.weight=0.3", "--store", str(tmp_path), env=env)
    assert proc.returncode == 0, proc.stderr
    assert Config.load(tmp_path, env={}).retrieval.k == 10 and Config.load(tmp_path, env={}).retrieval.weight == 0.3
    with pytest.raises(ValueError, match="ocr.engine='x' is not valid"):
        Config.load(tmp_path, env={"RAGKIT_OCR_ENGINE": "x"})


def test_every_environment_override_is_documented_in_one_table():
    doc = (REPO / "docs" / "configuration.md").read_text()
    rows = dict(re.findall(r"^\| `(RAGKIT_[A-Z_]+)` \| `([a-z_.]+)` \|", doc, flags=re.M))
    expected = {name: key for name, key in _all_overrides().items()}
    assert rows == expected


def _all_overrides() -> dict[str, str]:
    from dataclasses import fields

    out = {}
    for section in fields(Config):
        for f in fields(section.default_factory()):  # type: ignore[misc]
            out[f"RAGKIT_{section.name}_{f.name}".upper()] = f"{section.name}.{f.name}"
    return out


def test_import_ragkit_sets_only_the_offline_switches():
    code = (
        "import os, json; before = dict(os.environ); import ragkit, ragkit.kit, connectors.registry; "
        "print(json.dumps(sorted(k for k in os.environ if os.environ.get(k) != before.get(k))))"
    )
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_ENV and not k.startswith(("TOKENIZERS", "TRANSFORMERS_V", "OMP_"))}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert set(json.loads(proc.stdout)) <= set(OFFLINE_ENV)


def test_no_setting_is_read_from_the_environment_outside_the_config():
    pattern = re.compile(r"(environ(\.get)?\s*[\[(]\s*|getenv\s*\(\s*)[\"']RAGKIT_")
    offenders = [
        str(path.relative_to(REPO))
        for folder in ("ragkit", "connectors", "graphs")
        for path in (REPO / folder).rglob("*.py")
        if pattern.search(path.read_text())
    ]
    assert offenders == []


def test_search_k_defaults_to_the_config(tmp_path: Path):
    import ragkit
    from tests.conftest import write_files

    store = tmp_path / "s"
    kit = ragkit.open(store, hash_config())
    kit.index([write_files(tmp_path / "d", {f"{i}.txt": f"River note {i}." for i in range(12)})])
    kit.close()
    assert cli("config", "set", "retrieval.k=3", "--store", str(store)).returncode == 0
    proc = cli("search", "river note", "--store", str(store), "--json", "--mode", "lexical")
    assert len(json.loads(proc.stdout)) == 3
    proc = cli("search", "river note", "--store", str(store), "--json", "--mode", "lexical", "-k", "5")
    assert len(json.loads(proc.stdout)) == 5


def test_torch_threads_set_once_at_load_never_per_query(tmp_path: Path, monkeypatch):
    """Queries in several threads never change torch's process-global thread count."""
    from concurrent.futures import ThreadPoolExecutor

    import torch

    import ragkit
    from tests.conftest import write_files

    config = Config()
    config.embedder.threads = 1
    kit = ragkit.open(tmp_path / "s", config)
    kit.index([write_files(tmp_path / "d", {"a.txt": "Glaciers retreat.", "b.txt": "Orchards bloom."})])
    assert torch.get_num_threads() == 1
    calls: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(n))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda q: kit.search(q, k=1, mode="dense"), [f"glacier {i}" for i in range(12)]))
    assert all(r and r[0].chunk.source.endswith("a.txt") for r in results)
    assert calls == [] and torch.get_num_threads() == 1
    kit.close()
