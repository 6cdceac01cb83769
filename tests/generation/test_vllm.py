"""The in-process ``vllm`` backend against a fake ``vllm`` module injected at the import boundary.

The real vLLM needs a CUDA GPU and its own environment (docs/generation.md); these tests check what
ragkit sends it: LLM arguments, SamplingParams, one call per batch, guided JSON decoding.
"""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass, field
from typing import Any

import pytest

from ragkit.config import GeneratorConfig
from ragkit.generation import GeneratorError, GeneratorUnavailable, make_generator
from ragkit.generation import vllm as vllm_backend
from ragkit.generation.citations import ANSWER_SCHEMA
from ragkit.generation.vllm import VLLMGenerator


@dataclass
class FakeSamplingParams:
    kwargs: dict[str, Any]

    def __init__(self, **kwargs: Any):
        self.kwargs = kwargs


@dataclass
class FakeStructuredOutputsParams:
    json: Any = None


@dataclass
class FakeGuidedDecodingParams:
    json: Any = None


@dataclass
class _Completion:
    text: str


@dataclass
class _RequestOutput:
    outputs: list[_Completion] = field(default_factory=list)


class FakeLLM:
    instances: list[FakeLLM] = []

    def __init__(self, **kwargs: Any):
        self.kwargs = kwargs
        self.calls: list[dict[str, Any]] = []
        FakeLLM.instances.append(self)

    def chat(self, messages: list, sampling_params: Any = None, use_tqdm: bool = True) -> list[_RequestOutput]:
        self.calls.append({"messages": messages, "sampling_params": sampling_params, "use_tqdm": use_tqdm})
        conversations = messages if messages and isinstance(messages[0], list) else [messages]
        outputs = []
        for convo in conversations:
            if sampling_params is not None and (
                "structured_outputs" in sampling_params.kwargs or "guided_decoding" in sampling_params.kwargs
            ):
                text = json.dumps(
                    {"sentences": [{"text": "The Eiffel Tower was completed in 1889.", "citations": [1, 7]}]}
                )
            else:
                text = "answer to " + convo[-1]["content"]
            outputs.append(_RequestOutput([_Completion(text)]))
        return outputs


def install_fake_vllm(monkeypatch: pytest.MonkeyPatch, legacy: bool = False) -> types.ModuleType:
    FakeLLM.instances = []
    module = types.ModuleType("vllm")
    module.LLM = FakeLLM
    module.SamplingParams = FakeSamplingParams
    sampling = types.ModuleType("vllm.sampling_params")
    if legacy:
        sampling.GuidedDecodingParams = FakeGuidedDecodingParams
    else:
        sampling.StructuredOutputsParams = FakeStructuredOutputsParams
    sampling.SamplingParams = FakeSamplingParams
    module.sampling_params = sampling
    monkeypatch.setitem(sys.modules, "vllm", module)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", sampling)
    monkeypatch.setattr(vllm_backend, "gpu_available", lambda: True)
    return module


def config(**overrides: Any) -> GeneratorConfig:
    cfg = GeneratorConfig(
        name="vllm", model="Qwen/Qwen2.5-7B-Instruct", max_tokens=64, temperature=0.0, context_tokens=4096
    )
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


def test_factory_is_cheap_and_lazy(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # importing vllm would fail
    gen = make_generator(config(), "vllm")
    assert isinstance(gen, VLLMGenerator) and gen.name == "vllm"


def test_missing_vllm_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)
    gen = VLLMGenerator(config())
    with pytest.raises(GeneratorUnavailable, match="cannot import vllm.*docs/generation.md.*vllm serve"):
        gen.generate([{"role": "user", "content": "hi"}])


def test_no_gpu_gives_a_clear_error(monkeypatch):
    install_fake_vllm(monkeypatch)
    monkeypatch.setattr(vllm_backend, "gpu_available", lambda: False)
    with pytest.raises(GeneratorUnavailable, match="no CUDA GPU"):
        VLLMGenerator(config()).generate([{"role": "user", "content": "hi"}])
    assert FakeLLM.instances == []


def test_model_is_required(monkeypatch):
    install_fake_vllm(monkeypatch)
    with pytest.raises(GeneratorError, match="generator.model"):
        VLLMGenerator(config(model="")).generate([{"role": "user", "content": "hi"}])


def test_llm_arguments_and_sampling_params(monkeypatch):
    install_fake_vllm(monkeypatch)
    gen = VLLMGenerator(config(temperature=0.2), gpu_memory_utilization=0.8)
    assert gen.generate([{"role": "user", "content": "hi"}], max_tokens=20) == "answer to hi"
    gen.generate([{"role": "user", "content": "again"}], max_tokens=20)
    assert len(FakeLLM.instances) == 1  # built once
    llm = FakeLLM.instances[0]
    assert llm.kwargs == {
        "model": "Qwen/Qwen2.5-7B-Instruct",
        "max_model_len": 4096,
        "seed": 0,
        "gpu_memory_utilization": 0.8,
    }
    params = llm.calls[0]["sampling_params"]
    assert params.kwargs == {"max_tokens": 20, "temperature": 0.2, "seed": 0}
    assert llm.calls[0]["use_tqdm"] is False


def test_batch_is_one_call_in_order(monkeypatch):
    install_fake_vllm(monkeypatch)
    gen = VLLMGenerator(config())
    batch = [[{"role": "user", "content": f"q{i}"}] for i in range(5)]
    assert gen.generate_batch(batch, max_tokens=8) == [f"answer to q{i}" for i in range(5)]
    llm = FakeLLM.instances[0]
    assert len(llm.calls) == 1 and llm.calls[0]["messages"] == batch
    assert gen.generate_batch([]) == []


@pytest.mark.parametrize(
    "legacy, field_name, cls",
    [(False, "structured_outputs", FakeStructuredOutputsParams), (True, "guided_decoding", FakeGuidedDecodingParams)],
)
def test_guided_json_decoding_request(monkeypatch, legacy, field_name, cls):
    install_fake_vllm(monkeypatch, legacy=legacy)
    gen = VLLMGenerator(config())
    text = gen.generate([{"role": "user", "content": "q"}], json_schema=ANSWER_SCHEMA)
    params = FakeLLM.instances[0].calls[0]["sampling_params"]
    assert isinstance(params.kwargs[field_name], cls)
    assert params.kwargs[field_name].json == ANSWER_SCHEMA
    assert json.loads(text)["sentences"][0]["citations"] == [1, 7]


def test_wrong_output_count_is_an_error(monkeypatch):
    install_fake_vllm(monkeypatch)
    gen = VLLMGenerator(config())
    monkeypatch.setattr(FakeLLM, "chat", lambda self, messages, sampling_params=None, use_tqdm=True: [])
    with pytest.raises(GeneratorError, match="0 outputs for 1 prompts"):
        gen.generate([{"role": "user", "content": "q"}])


def test_pipeline_uses_guided_json_and_drops_unknown_citations(monkeypatch, minilm_embedder):
    """ask_many sends one batch with the answer schema; [7] (not in the context) is dropped."""
    from tests.generation.gen_support import DuckKit, eiffel_hits

    from ragkit.config import Config

    install_fake_vllm(monkeypatch)
    kit = DuckKit(eiffel_hits(), minilm_embedder, Config(generator=config()))
    answers = kit.answers.ask_many(["When was the Eiffel Tower completed?", "And when was it built?"])
    assert len(FakeLLM.instances[0].calls) == 1
    assert "structured_outputs" in FakeLLM.instances[0].calls[0]["sampling_params"].kwargs
    for answer in answers:
        assert not isinstance(answer, Exception), answer
        data = answer.to_dict()
        assert data["sentences"][0]["citations"] == [1]
        assert data["sentences"][0]["verified"] is True
        assert [c["n"] for c in data["citations"]] == [1]
        assert "[7]" not in data["answer"]
