"""Connectors turn files into Documents; ``load`` picks the right one by sniffing the file."""
from __future__ import annotations

from connectors.base import ConnectorError
from connectors.folder import iter_files
from connectors.registry import FORMATS, load, sniff

__all__ = ["FORMATS", "ConnectorError", "iter_files", "load", "sniff"]
