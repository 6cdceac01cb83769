"""What ragkit does to the environment, in one place: opening a store (``ragkit.open``, the CLI, the
server) and every model load set the switches below (unless the user set them) so that no model library
reaches a hub or sends telemetry. Importing ragkit sets nothing.

- ``HF_HUB_OFFLINE``, ``TRANSFORMERS_OFFLINE``, ``HF_DATASETS_OFFLINE``: models load from the packaged
  paths only, never from the Hugging Face hub.
- ``HF_HUB_DISABLE_TELEMETRY``, ``ORT_DISABLE_TELEMETRY``, ``ANONYMIZED_TELEMETRY``: no telemetry from
  huggingface_hub, onnxruntime (it reads its switch at import) or chromadb.

When a model loads, :func:`quiet_model_libraries` also silences their progress bars and advisories.
"""
from __future__ import annotations

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ORT_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
}

QUIET_ENV = {
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}


def enforce_offline() -> None:
    """Set the offline switches unless the user set them; call before importing model libraries."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


def quiet_model_libraries() -> None:
    """Offline switches plus no progress bars or advisories from the model libraries (at model load)."""
    enforce_offline()
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
