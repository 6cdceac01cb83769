"""Environment switches that keep ragkit offline: no hub downloads, no telemetry."""
from __future__ import annotations

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ORT_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    # OpenMP threads that spin while idle made llama.cpp 10-40x slower beside torch on 2 cores
    "OMP_WAIT_POLICY": "PASSIVE",
}


def enforce_offline() -> None:
    """Set the offline switches unless the user set them; call before importing model libraries."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
