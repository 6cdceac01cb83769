"""One configuration for the SDK, the CLI and the server, stored as ``config.toml`` in the store.

Every setting lives here. An environment variable ``RAGKIT_<SECTION>_<KEY>`` (e.g.
``RAGKIT_GENERATOR_BASE_URL``, ``RAGKIT_OCR_ENGINE``) overrides the stored value for one process;
:func:`env_overrides` lists them and ``docs/configuration.md`` documents them in one table. Values are
checked on load and on ``set``; a field with fixed choices lists them in its error.
"""
from __future__ import annotations

import math
import os
import tomllib
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import tomli_w

CONFIG_FILE = "config.toml"
ENV_PREFIX = "RAGKIT_"


def choice(default: str, *choices: str) -> Any:
    """A string field whose value must be one of ``choices``."""
    return field(default=default, metadata={"choices": (default, *[c for c in choices if c != default])})


@dataclass
class EmbedderConfig:
    name: str = choice("minilm", "sentence-transformers", "hash")
    model_path: str = ""  # for sentence-transformers: a local folder
    batch_size: int = 16  # small length-sorted batches: ~20% faster than 64 on CPU (docs/benchmarks.md)
    cache: bool = True
    threads: int = 0  # torch CPU threads, set once when the model loads (0: torch's default)


@dataclass
class ChunkingConfig:
    max_tokens: int = 240
    overlap_tokens: int = 24
    table_rows_per_chunk: int = 20
    table_row_chunks: bool = True  # also one chunk per table row, header repeated


@dataclass
class IngestConfig:
    # an ingest commits one generation per batch of changed files (peak memory follows the batch, not the
    # corpus; an interrupted ingest keeps the batches committed); a batch closes at whichever comes first
    batch_files: int = 1000
    batch_bytes: int = 64_000_000  # bytes on disk of the batch's files


@dataclass
class RetrievalConfig:
    mode: str = choice("hybrid", "lexical", "dense", "graph", "auto")
    fusion: str = choice("cc", "rrf")
    normalization: str = choice("zscore", "minmax")  # z-score: best in every setting measured (docs/retrieval.md)
    weight: float = 0.5  # CC weight of the dense retriever
    rrf_k: int = 60
    depth: int = 100
    k: int = 10


@dataclass
class RerankerConfig:
    name: str = choice("none", "nanoranker", "cross-encoder")
    model_path: str = ""
    depth: int = 20


@dataclass
class GeneratorConfig:
    name: str = choice("extractive", "local", "openai", "vllm")
    model: str = ""
    base_url: str = "http://127.0.0.1:8000/v1"
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 60.0
    max_retries: int = 3
    max_tokens: int = 256
    temperature: float = 0.0
    context_tokens: int = 2048
    local_runtime: str = choice("", "llama-cpp", "transformers")  # "": llama-cpp when it imports
    cache_dir: str = ""  # derived model files ("": $XDG_CACHE_HOME/ragkit)
    short_answers: bool = True  # compose a short answer from the cited evidence when the generator writes none


@dataclass
class OcrConfig:
    engine: str = choice("", "rapidocr", "tesseract", "none")  # "": the best installed
    max_pages: int = 100  # pages OCR'd per file at most; the rest are listed as pages without text
    lang: str = "eng"  # tesseract's language


@dataclass
class LimitsConfig:
    """What one file may bring into an ingest; a file over a limit is reported as failed (0 = no limit)."""

    max_file_mb: float = 200.0  # file size, checked before the file is read
    max_pages: int = 5000  # pages of a PDF
    max_chars: int = 20_000_000  # characters of a parsed document
    max_chunks: int = 50_000  # chunks of one file (table row chunks included)
    parse_timeout: float = 60.0  # CPU seconds to parse one file in a worker (5x that of waiting); then it is killed
    parse_workers: int = 1  # worker processes that parse files (0: parse in-process, no timeout)
    worker_memory_mb: int = 4096  # address-space cap of a worker (RLIMIT_AS)
    worker_max_rss_mb: int = 1024  # a worker above this resident memory after a file is replaced


@dataclass
class VectorStoreConfig:
    name: str = choice("chroma", "chroma-http")  # embedded, or a `chroma run` server
    host: str = "127.0.0.1"
    port: int = 8000
    hnsw: dict[str, Any] = field(
        default_factory=lambda: {
            "space": "cosine",
            "ef_search": 200,
            "ef_construction": 200,
            "max_neighbors": 32,
        }
    )


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_root: str = ""  # POST /index may read server paths under this folder ("" = none)
    max_upload_bytes: int = 50_000_000  # files of one upload request, in all (413 above)
    token_env: str = "RAGKIT_SERVER_TOKEN"  # when this env variable is set, every route but /health needs it
    token_labels: list[str] = field(default_factory=list)  # access labels of that token ([]: public documents only)
    tokens: list[dict[str, Any]] = field(default_factory=list)  # more tokens: [{env = "VAR", labels = ["hr"]}]
    # what a request may name and send (docs/server.md "Security")
    allowed_hosts: list[str] = field(default_factory=lambda: ["127.0.0.1", "localhost", "[::1]"])  # Host header (400 else)
    cors_origins: list[str] = field(default_factory=list)  # origins that may call the API from a browser ([]: CORS off)
    generators: list[str] = field(default_factory=list)  # generators /ask may pick besides generator.name
    max_body_bytes: int = 1_000_000  # a JSON request body (413 above)
    max_question_chars: int = 4000  # /ask question, each history turn, /search q (422 above)
    max_history_turns: int = 20  # /ask history turns (422 above)
    max_meta_chars: int = 4000  # /index meta and a where filter, as JSON (422 above)
    page_size: int = 100  # GET /documents without ?limit=


@dataclass
class GraphConfig:
    enabled: bool = True  # build the entity/structure graph at index time (graphs/)
    extractor: str = choice("auto", "spacy", "fast", "none")  # auto: spacy if the "graph" extra is installed, else fast
    relations: bool = True  # entity -> entity relations from shared sentences
    llm_extraction: bool = False  # also extract entities/relations with the generator backend (local | openai), JSON-schema output
    llm_token_budget: int = 20000  # tokens (prompt + completion) LLM extraction may spend per index call
    llm_max_tokens: int = 256  # completion tokens per chunk
    predicates: str = choice("words", "parse")  # relation predicate: connecting words, or the parsed verb phrase (spaCy)
    link_threshold: float = 0.0  # name-embedding cosine for linking query phrases to entities (0: off; 0.9: bench/graph_aliases.py)
    merge_threshold: float = 0.9  # name-embedding cosine for alias merges (`ragkit graph merge`; bench/graph_aliases.py)


@dataclass
class AccessConfig:
    rules: list[dict[str, Any]] = field(default_factory=list)  # [{glob = "hr/**", labels = ["hr"]}] (docs/access.md)


@dataclass
class ExecutorConfig:
    # where `index` parses, chunks and embeds and `batch` answers: in this process, or on Ray (extra
    # `ray`): a local Ray started for the run, the cluster at RAY_ADDRESS, or ray://HOST:PORT
    name: str = field(default="local", metadata={"choices": ("local", "ray", "ray:auto"), "prefixes": ("ray://",)})


@dataclass
class Config:
    embedder: EmbedderConfig = field(default_factory=EmbedderConfig)
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    reranker: RerankerConfig = field(default_factory=RerankerConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    vector_store: VectorStoreConfig = field(default_factory=VectorStoreConfig)
    ocr: OcrConfig = field(default_factory=OcrConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    graph: GraphConfig = field(default_factory=GraphConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    access: AccessConfig = field(default_factory=AccessConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        from ragkit.access import parse_rules

        config = _build(cls, data, "")
        parse_rules(config.access.rules)  # a bad rule names itself (AccessError is a ValueError)
        return config

    @classmethod
    def load(cls, store_dir: str | Path, env: dict[str, str] | None = None) -> Config:
        """The store's config (defaults when it has none), with ``RAGKIT_<SECTION>_<KEY>`` overrides
        from ``env`` (default: ``os.environ``) applied."""
        path = Path(store_dir) / CONFIG_FILE
        config = cls()
        if path.exists():
            with path.open("rb") as fh:
                try:
                    data = tomllib.load(fh)
                except tomllib.TOMLDecodeError as exc:
                    raise ValueError(f"{path}: invalid TOML: {exc}") from exc
            try:
                config = cls.from_dict(data)
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{path}: {exc}") from exc
        for key, value in env_overrides(os.environ if env is None else env).items():
            config.set(key, value)
        return config

    def save(self, store_dir: str | Path) -> None:
        path = Path(store_dir) / CONFIG_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(dumps_toml(self.to_dict()), encoding="utf-8")
        tmp.replace(path)

    def get(self, dotted: str) -> Any:
        """The value at ``section.key`` (or ``section.key.subkey`` inside a table)."""
        section, key, rest = _resolve(self, dotted)
        value = getattr(section, key)
        for part in rest:
            value = value[part]
        return value

    def set(self, dotted: str, value: Any) -> None:
        """Set ``section.key`` (or ``section.table.key``) to ``value``, converted to the field's type
        and checked against its choices; KeyError/ValueError name the valid keys or values."""
        section, key, rest = _resolve(self, dotted)
        f = next(f for f in fields(section) if f.name == key)
        if rest:
            table = dict(getattr(section, key))
            sub = rest[0]
            if len(rest) > 1 or sub not in table:
                raise KeyError(f"unknown key {sub!r} in {dotted.rsplit('.', 1)[0]}; valid: {', '.join(table)}")
            table[sub] = _convert(table[sub], value, dotted)
            setattr(section, key, table)
            return
        converted = _convert(getattr(section, key), value, dotted)
        _check_choice(f, converted, dotted)
        if dotted == "access.rules":  # checked as on load: a bad rule names itself
            from ragkit.access import parse_rules

            parse_rules(converted)
        setattr(section, key, converted)


def env_overrides(env: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """``section.key`` -> value for each ``RAGKIT_<SECTION>_<KEY>`` variable naming a setting.
    Variables that name no setting are left alone (other tools share the prefix)."""
    names: dict[str, str] = {}
    defaults = Config()
    for section in fields(defaults):
        for f in fields(getattr(defaults, section.name)):
            names[f"{ENV_PREFIX}{section.name}_{f.name}".upper()] = f"{section.name}.{f.name}"
    return {names[k]: v for k, v in env.items() if k in names}


def _resolve(config: Config, dotted: str) -> tuple[Any, str, list[str]]:
    parts = dotted.split(".")
    sections = {f.name: f for f in fields(config)}
    if parts[0] not in sections:
        raise KeyError(f"unknown config section {parts[0]!r}; valid: {', '.join(sections)}")
    section = getattr(config, parts[0])
    names = [f.name for f in fields(section)]
    if len(parts) < 2 or parts[1] not in names:
        got = parts[1] if len(parts) > 1 else ""
        raise KeyError(f"unknown key {got!r} in [{parts[0]}]; valid: {', '.join(names)}")
    if len(parts) > 2 and not isinstance(getattr(section, parts[1]), dict):
        raise KeyError(f"{parts[0]}.{parts[1]} is not a table; set it as {parts[0]}.{parts[1]}=VALUE")
    return section, parts[1], parts[2:]


def _convert(current: Any, value: Any, where: str) -> Any:
    """``value`` as the type of ``current`` (strings from the command line are parsed)."""
    if isinstance(current, list):  # lists (access rules, token labels) as TOML/JSON lists or "a,b"
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{where} must be a JSON list: {exc}") from None
            else:
                value = [v.strip() for v in text.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where} must be a list, got {value!r}")
        return list(value)
    if not isinstance(value, str) or isinstance(current, str):
        if isinstance(current, bool) and not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, got {value!r}")
        if isinstance(current, (int, float)) and not isinstance(current, bool):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{where} must be a number, got {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{where} must be a finite number, got {value!r}")
            if isinstance(current, int) and isinstance(value, float) and not value.is_integer():
                raise ValueError(f"{where} must be a whole number, got {value!r}")
            return type(current)(value)
        if isinstance(current, str) and not isinstance(value, str):
            raise ValueError(f"{where} must be text, got {value!r}")
        return value
    if isinstance(current, bool):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{where} must be true or false, got {value!r}")
    try:
        converted = type(current)(value)
    except ValueError:
        kind = "a whole number" if isinstance(current, int) else "a number"
        raise ValueError(f"{where} must be {kind}, got {value!r}") from None
    if isinstance(converted, float) and not math.isfinite(converted):
        raise ValueError(f"{where} must be a finite number, got {value!r}")
    return converted


def _check_choice(f: Any, value: Any, where: str) -> None:
    choices = f.metadata.get("choices")
    prefixes = f.metadata.get("prefixes", ())
    if choices and value not in choices and not (isinstance(value, str) and value.startswith(prefixes)):
        shown = ", ".join([repr(c) if c == "" else c for c in choices] + [f"{p}..." for p in prefixes])
        raise ValueError(f"{where}={value!r} is not valid; valid: {shown}")


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = set(data) - set(known)
    if unknown:
        raise ValueError(
            f"unknown config key(s) {sorted(unknown)} in [{where or 'root'}]; valid: {', '.join(known)}"
        )
    obj = cls()
    for name, value in data.items():
        current = getattr(obj, name)
        if is_dataclass(current) and isinstance(value, dict):
            setattr(obj, name, _build(type(current), value, name))
            continue
        dotted = f"{where}.{name}" if where else name
        if isinstance(current, dict) and isinstance(value, dict):
            value = {**current, **value}
        else:
            value = _convert(current, value, dotted)
            _check_choice(known[name], value, dotted)
        setattr(obj, name, value)
    return obj


def dumps_toml(data: dict[str, Any]) -> str:
    """The config (sections of settings) as TOML, by ``tomli-w`` (``tomllib`` only reads)."""
    return tomli_w.dumps(data)
