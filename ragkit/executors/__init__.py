"""Executors run the heavy, pure stages of an ingest: ``local`` (in-process, the default) or ``ray``."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ragkit.executors.base import Executor, FileTask, Prepared

if TYPE_CHECKING:
    from ragkit.config import EmbedderConfig
    from ragkit.protocols import Embedder

__all__ = ["EXECUTORS", "Executor", "FileTask", "Prepared", "make_executor"]

EXECUTORS = ("local", "ray", "ray://HOST:PORT", "ray:auto")


def make_executor(spec: str, embedder: Embedder, embedder_config: EmbedderConfig) -> Executor:
    """The executor named by ``spec``: "local" (default) | "ray" | "ray://HOST:PORT" | "ray:auto";
    ValueError listing the choices for anything else."""
    spec = (spec or "local").strip()
    if spec == "local":
        from ragkit.executors.local import LocalExecutor

        return LocalExecutor(embedder)
    if spec == "ray" or spec == "ray:auto" or spec.startswith("ray://"):
        try:
            from ragkit.executors.ray import RayExecutor  # helper C's module
        except ImportError as exc:
            raise ImportError(f"executor {spec!r} needs the Ray executor: pip install 'ragkit[ray]' ({exc})") from exc
        return RayExecutor(spec, embedder_config)
    raise ValueError(f"unknown executor {spec!r}; valid: {', '.join(EXECUTORS)}")
