"""Optional dependencies: import a package of an extra, or fail with the ``pip install`` line to run."""
from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, extra: str, what: str) -> ModuleType:
    """Import ``module``; if it is missing, raise ImportError naming ``ragkit[extra]``."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise ImportError(
            f"{what} needs the '{exc.name}' package: pip install 'ragkit[{extra}]'"
        ) from exc
