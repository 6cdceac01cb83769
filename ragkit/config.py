"""One configuration for the SDK, the CLI and the server, stored as ``config.toml`` in the store."""
from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

CONFIG_FILE = "config.toml"


@dataclass
class EmbedderConfig:
    name: str = "minilm"  # minilm | sentence-transformers | hash
    model_path: str = ""  # for sentence-transformers: a local folder
    batch_size: int = 16  # small length-sorted batches: ~20% faster than 64 on CPU (docs/benchmarks.md)
    cache: bool = True


@dataclass
class ChunkingConfig:
    max_tokens: int = 240
    overlap_tokens: int = 24
    table_rows_per_chunk: int = 20
    table_row_chunks: bool = True  # also one chunk per table row, header repeated


@dataclass
class RetrievalConfig:
    mode: str = "hybrid"  # lexical | dense | hybrid
    fusion: str = "cc"  # cc | rrf
    normalization: str = "zscore"  # zscore | minmax (z-score: best in every setting measured, docs/retrieval.md)
    weight: float = 0.5  # CC weight of the dense retriever
    rrf_k: int = 60
    depth: int = 100
    k: int = 10


@dataclass
class RerankerConfig:
    name: str = "none"  # none | nanoranker | cross-encoder
    model_path: str = ""
    depth: int = 20


@dataclass
class GeneratorConfig:
    name: str = "extractive"  # extractive | local | openai | vllm
    model: str = ""
    base_url: str = "http://127.0.0.1:8000/v1"
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 60.0
    max_retries: int = 3
    max_tokens: int = 256
    temperature: float = 0.0
    context_tokens: int = 2048


@dataclass
class VectorStoreConfig:
    name: str = "chroma"  # chroma (embedded) | chroma-http
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
class GraphConfig:
    enabled: bool = True  # build the entity/structure graph at index time (graphs/)
    extractor: str = "auto"  # auto (spacy if the 'graph' extra is installed, else fast) | spacy | fast | none
    relations: bool = True  # entity -> entity relations from shared sentences
    merge_threshold: float = 0.9  # name-embedding cosine for alias merges (`ragkit graph merge`; bench/graph_aliases.py)


@dataclass
class Config:
    embedder: EmbedderConfig = field(default_factory=EmbedderConfig)
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    reranker: RerankerConfig = field(default_factory=RerankerConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    vector_store: VectorStoreConfig = field(default_factory=VectorStoreConfig)
    graph: GraphConfig = field(default_factory=GraphConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        return _build(cls, data, "")

    @classmethod
    def load(cls, store_dir: str | Path) -> Config:
        path = Path(store_dir) / CONFIG_FILE
        if not path.exists():
            return cls()
        with path.open("rb") as fh:
            try:
                data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise ValueError(f"{path}: invalid TOML: {exc}") from exc
        return cls.from_dict(data)

    def save(self, store_dir: str | Path) -> None:
        path = Path(store_dir) / CONFIG_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(dumps_toml(self.to_dict()), encoding="utf-8")
        tmp.replace(path)

    def set(self, dotted: str, value: Any) -> None:
        """Set ``section.key`` to ``value`` (converted to the field's type)."""
        section_name, _, key = dotted.partition(".")
        section = getattr(self, section_name, None)
        if section is None or not is_dataclass(section):
            valid = ", ".join(f.name for f in fields(self))
            raise KeyError(f"unknown config section {section_name!r}; valid: {valid}")
        names = {f.name: f for f in fields(section)}
        if key not in names:
            raise KeyError(f"unknown key {key!r} in [{section_name}]; valid: {', '.join(names)}")
        current = getattr(section, key)
        if isinstance(current, bool):
            value = str(value).lower() in ("1", "true", "yes", "on") if isinstance(value, str) else bool(value)
        elif isinstance(current, (int, float, str)) and isinstance(value, str):
            value = type(current)(value)
        setattr(section, key, value)


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = set(data) - set(known)
    if unknown:
        raise ValueError(
            f"unknown config key(s) {sorted(unknown)} in [{where or 'root'}]; valid: {', '.join(known)}"
        )
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        default = known[name].default_factory() if callable(known[name].default_factory) else None  # type: ignore[misc]
        if default is not None and is_dataclass(default) and isinstance(value, dict):
            kwargs[name] = _build(type(default), value, name)
        else:
            kwargs[name] = value
    return cls(**kwargs)


def dumps_toml(data: dict[str, Any]) -> str:
    """Write a two-level dict (sections of scalars and flat inline tables) as TOML.

    Hand-written because ragkit's config has exactly this shape and tomllib only reads.
    """
    lines: list[str] = []
    for section, values in data.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, dict):
        inner = ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
