"""The tail every benchmark shares: print the JSON report on stdout, and write it to ``--json`` if given."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def emit_report(report: Any, path: Path | None) -> None:
    """Print ``report`` as one JSON document; also write it to ``path`` when one is given."""
    text = json.dumps(report, indent=2)
    if path:
        path.write_text(text + "\n", encoding="utf-8")
    print(text)
