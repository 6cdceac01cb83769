"""ragkit: offline retrieval-augmented generation with verified citations."""
from __future__ import annotations

from ragkit.offline import enforce_offline

enforce_offline()  # before any model library (onnxruntime reads its telemetry switch at import)

from ragkit.config import Config  # noqa: E402
from ragkit.kit import Kit, open  # noqa: E402
from ragkit.types import Answer, Chunk, Citation, Document, Hit, Sentence  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Config", "Kit", "open", "Answer", "Chunk", "Citation", "Document", "Hit", "Sentence"]
