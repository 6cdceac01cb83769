"""Request bodies of the REST API (validated by pydantic; a bad body is a 400 naming the field)."""
from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, Field


class Turn(BaseModel):
    role: Literal["user", "assistant", "system"]
    content: str


class AskRequest(BaseModel):
    question: str = Field(min_length=1, description="The question.")
    history: Optional[list[Turn]] = Field(None, description="Earlier turns: follow-ups are rewritten with them.")
    k: Optional[int] = Field(None, ge=1, le=100, description="Passages to retrieve (default: retrieval.k).")
    where: Optional[dict[str, Any]] = Field(None, description="Filter: metadata keys, source_prefix, format, kind.")
    generator: Optional[str] = Field(None, description="Generator backend (default: generator.name).")
    stream: bool = Field(False, description="Server-Sent Events: token events, then one answer event.")


class IndexRequest(BaseModel):
    paths: list[str] = Field(min_length=1, description="Files or folders on the server, under server.allowed_root.")
    meta: Optional[dict[str, str]] = None
    include: Optional[list[str]] = None
    exclude: Optional[list[str]] = None
