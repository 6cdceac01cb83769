"""Optional LLM extraction (``graph.llm_extraction``): schema-constrained JSON from the generator
backends, a token budget and cost accounting. The ``openai`` backend talks to a real HTTP server on
127.0.0.1 serving canned chat completions; the ``local`` backend runs the packaged SmolLM2 model."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from graphs.llm import SCHEMA, LLMExtractor
from tests.conftest import write_files
from tests.generation.fake_openai_server import FakeOpenAIServer
from tests.graphs.conftest import graph_config, rows
from tests.test_cli import _run

DOC = "Ada Lovelace worked with Charles Babbage in London on the Analytical Engine."
ANSWER = {"entities": [{"name": "Ada Lovelace", "type": "PERSON"}, {"name": "Charles Babbage", "type": "PERSON"},
                       {"name": "Analytical Engine", "type": "PRODUCT"}, {"name": "Bletchley Park", "type": "PLACE"}],
          "relations": [{"source": "Ada Lovelace", "predicate": "worked with", "target": "Charles Babbage"},
                        {"source": "Ada Lovelace", "predicate": "visited", "target": "Bletchley Park"}]}


def llm_config(server: FakeOpenAIServer, budget: int = 20000):
    config = graph_config("none")  # structure only: every entity below comes from the LLM
    config.graph.llm_extraction = True
    config.graph.llm_token_budget = budget
    config.generator.name = "openai"
    config.generator.base_url = server.base_url
    config.generator.model = "fake-model"
    config.generator.max_retries = 0
    return config


def test_off_by_default():
    from ragkit.config import Config

    assert Config().graph.llm_extraction is False


def test_openai_backend_json_schema_entities_relations_and_usage(tmp_path: Path):
    import ragkit

    with FakeOpenAIServer() as server:
        server.script += [("ok", json.dumps(ANSWER), {"prompt_tokens": 120, "completion_tokens": 45, "total_tokens": 165})]
        docs = write_files(tmp_path / "docs", {"ada.txt": DOC})
        kit = ragkit.open(tmp_path / "store", llm_config(server))
        report = kit.index(docs)
        body = server.chat_requests()[0]["body"]
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["schema"] == SCHEMA
        assert DOC in body["messages"][-1]["content"]
        assert report.graph_llm["calls"] == 1 and report.graph_llm["prompt_tokens"] == 120
        assert report.graph_llm["completion_tokens"] == 45 and report.graph_llm["total_tokens"] == 165
        entities = dict(rows(kit, "SELECT entity_id, label FROM graph_entities"))
        assert entities["ada lovelace"] == "LLM_PERSON" and entities["analytical engine"] == "LLM_PRODUCT"
        assert "bletchley park" not in entities  # not in the text: an invented entity is dropped
        relations = rows(kit, "SELECT src, predicate, dst FROM graph_edges WHERE kind='relation'")
        assert ("ent:ada lovelace", "worked with", "ent:charles babbage") in relations  # the model's predicate
        assert not any("bletchley" in dst for _, _, dst in relations)
        # LLM entities also take part in the offline co-sentence relations (predicate: connecting words)
        assert ("ent:charles babbage", "in london on the", "ent:analytical engine") in relations
        assert kit.graph.stats()["llm"]["total_tokens"] == 165
        kit.close()
        # the CLI reports the same accounting: index --json and graph stats --json
        server.script += [("ok", json.dumps(ANSWER), {"prompt_tokens": 100, "completion_tokens": 40, "total_tokens": 140})]
        (docs / "ada.txt").write_text(DOC + " Ada Lovelace wrote notes.", encoding="utf-8")
        proc = _run("index", str(docs), "--store", str(tmp_path / "store"), "--json", "--quiet", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["graph_llm"]["total_tokens"] == 140
        proc = _run("graph", "stats", "--store", str(tmp_path / "store"), "--json", "--quiet", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["llm"]["total_tokens"] == 305  # the store's running total


def test_budget_stops_extraction_and_is_reported(tmp_path: Path):
    import ragkit

    with FakeOpenAIServer() as server:
        server.default_answer = lambda body: ("ok", json.dumps(ANSWER), {"prompt_tokens": 300, "completion_tokens": 60})
        docs = write_files(tmp_path / "docs", {f"d{i}.txt": f"{DOC} Copy {i}." for i in range(5)})
        kit = ragkit.open(tmp_path / "store", llm_config(server, budget=1000))
        report = kit.index(docs)
        usage = report.graph_llm
        assert usage["exhausted"] and usage["calls"] >= 1 and usage["chunks_skipped"] >= 1
        assert usage["calls"] + usage["chunks_skipped"] == 5
        assert usage["total_tokens"] <= 1000 and len(server.chat_requests()) == usage["calls"]
        kit.close()


def test_unsupported_backend_is_a_clear_error(tmp_path: Path):
    from graphs.llm import make_llm_extractor
    from ragkit.generation.extractive import ExtractiveGenerator

    with pytest.raises(ValueError, match="valid: local, openai"):
        make_llm_extractor(ExtractiveGenerator(), 100)


def test_local_smollm2_with_json_schema():
    """The packaged SmolLM2-135M through llama-cpp: the answer is valid JSON of the schema and tokens are counted."""
    from ragkit.config import GeneratorConfig
    from ragkit.generation.local import LocalGenerator

    generator = LocalGenerator(GeneratorConfig(name="local", local_runtime="llama-cpp"), threads=2)
    extractor = LLMExtractor(generator.complete_json, budget=4000, backend="local", max_tokens=256)
    spans, relations = extractor.extract(DOC)
    usage = extractor.usage
    assert usage.calls == 1 and usage.invalid == 0  # the grammar keeps the 135M model's answer valid JSON
    assert usage.prompt_tokens > 50 and 0 < usage.completion_tokens <= 256
    for start, end, surface, label in spans:  # whatever it found is written in the text
        assert DOC[start:end] == surface and label.startswith("LLM_")
    assert all(a != b for a, _, b in relations)
