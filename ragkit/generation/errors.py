"""Errors raised by generator backends."""

from __future__ import annotations


class GeneratorError(RuntimeError):
    """A generator failed: server error, timeout, malformed response, missing model."""


class GeneratorUnavailable(GeneratorError):
    """A backend cannot run here: its package is missing, or it needs a GPU that is not present."""
