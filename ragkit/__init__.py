"""ragkit: offline retrieval-augmented generation with verified citations."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Importing ragkit (or ragkit.types, which connectors/ and graphs/ do) changes nothing: the offline
# switches are set where ragkit opens a store (Kit) or loads a model library (ragkit.offline).

if TYPE_CHECKING:
    from ragkit.config import Config
    from ragkit.kit import Kit, open
    from ragkit.types import Answer, Chunk, Citation, Document, Hit, Sentence, Short

__version__ = "0.1.0"
__all__ = ["Config", "Kit", "open", "Answer", "Chunk", "Citation", "Document", "Hit", "Sentence", "Short"]

_LAZY = {
    "Config": "ragkit.config",
    "Kit": "ragkit.kit",
    "open": "ragkit.kit",
    "Answer": "ragkit.types",
    "Chunk": "ragkit.types",
    "Citation": "ragkit.types",
    "Document": "ragkit.types",
    "Hit": "ragkit.types",
    "Sentence": "ragkit.types",
    "Short": "ragkit.types",
}


def __getattr__(name: str) -> Any:
    """Import the SDK lazily so that ``connectors`` can use ``ragkit.types`` without the facade."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ragkit' has no attribute {name!r}")
