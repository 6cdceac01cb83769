"""The ``vllm`` generator: in-process ``vllm.LLM`` for batch QA on a GPU host (untested on GPU).

vLLM pins its own torch (CUDA) and transformers, so it lives in a separate environment on a GPU host:
see docs/generation.md. The production path is ``vllm serve`` plus the ``openai`` backend; this module is
for offline batch jobs where one process owns the GPU. ``vllm`` is imported on first use only.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

from ragkit.config import GeneratorConfig
from ragkit.generation.errors import GeneratorError, GeneratorUnavailable

INSTALL_HINT = (
    "the 'vllm' generator needs the vllm package and a CUDA GPU; it lives in its own environment on a GPU "
    "host (vLLM pins torch and transformers): see docs/generation.md. For the production path run "
    "`vllm serve MODEL` there and use generator 'openai' with generator.base_url pointing at it"
)


def gpu_available() -> bool:
    """Whether torch sees a CUDA device (False when torch is missing)."""
    try:
        import torch
    except ImportError:
        return False
    try:
        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken CUDA install counts as no GPU
        return False


class VLLMGenerator:
    """Chat generation with ``vllm.LLM.chat``; batches are sent to vLLM in one call."""

    name = "vllm"
    writes_short = True  # asked for a "Short answer:" line (prompt.SYSTEM_PROMPT); no short is composed for it
    rewrites = True
    batch_size = 256
    structured = True  # the pipeline asks for guided JSON answers (sentences with citations)

    def __init__(self, config: GeneratorConfig | None = None, **llm_kwargs: Any):
        self.config = config or GeneratorConfig(name="vllm")
        self.llm_kwargs = llm_kwargs
        self._llm: Any = None
        self._vllm: Any = None

    def _module(self) -> Any:
        if self._vllm is None:
            try:
                self._vllm = importlib.import_module("vllm")
            except ImportError as exc:
                raise GeneratorUnavailable(f"cannot import vllm ({exc}); {INSTALL_HINT}") from exc
        return self._vllm

    @property
    def llm(self) -> Any:
        """The ``vllm.LLM`` (built on first use)."""
        if self._llm is None:
            vllm = self._module()
            if not gpu_available():
                raise GeneratorUnavailable(f"no CUDA GPU is visible to torch; {INSTALL_HINT}")
            if not self.config.model:
                raise GeneratorError("generator 'vllm' needs generator.model (a Hugging Face id or a local folder)")
            kwargs: dict[str, Any] = {
                "model": self.config.model,
                "max_model_len": self.config.context_tokens,
                "seed": 0,
            }
            kwargs.update(self.llm_kwargs)
            self._llm = vllm.LLM(**kwargs)
        return self._llm

    def sampling_params(self, max_tokens: int, json_schema: dict[str, Any] | None = None) -> Any:
        """``SamplingParams`` with the configured temperature and, if given, guided JSON decoding."""
        vllm = self._module()
        kwargs: dict[str, Any] = {"max_tokens": max_tokens, "temperature": self.config.temperature, "seed": 0}
        if json_schema is not None:
            sampling = importlib.import_module("vllm.sampling_params")
            if hasattr(sampling, "StructuredOutputsParams"):  # vLLM >= 0.12
                kwargs["structured_outputs"] = sampling.StructuredOutputsParams(json=json_schema)
            elif hasattr(sampling, "GuidedDecodingParams"):  # older releases
                kwargs["guided_decoding"] = sampling.GuidedDecodingParams(json=json_schema)
            else:
                raise GeneratorUnavailable("this vllm has neither StructuredOutputsParams nor GuidedDecodingParams")
        return vllm.SamplingParams(**kwargs)

    def generate(self, messages: list[dict[str, str]], max_tokens: int = 256, json_schema: dict[str, Any] | None = None) -> str:
        return self.generate_batch([messages], max_tokens, json_schema)[0]

    def stream(self, messages: list[dict[str, str]], max_tokens: int = 256) -> Iterator[str]:
        """The offline engine returns whole completions: one piece."""
        yield self.generate(messages, max_tokens)

    def generate_batch(
        self, batch: list[list[dict[str, str]]], max_tokens: int = 256, json_schema: dict[str, Any] | None = None
    ) -> list[str]:
        if not batch:
            return []
        params = self.sampling_params(max_tokens, json_schema)
        outputs = self.llm.chat(batch, sampling_params=params, use_tqdm=False)
        if len(outputs) != len(batch):
            raise GeneratorError(f"vllm returned {len(outputs)} outputs for {len(batch)} prompts")
        texts: list[str] = []
        for out in outputs:
            try:
                texts.append(out.outputs[0].text)
            except (AttributeError, IndexError) as exc:
                raise GeneratorError(f"unexpected vllm output: {out!r}") from exc
        return texts
