"""Request bodies of the REST API (validated by pydantic: a malformed body is a 400 naming the field, a
field over its size limit a 422) and the size limits of ``[server]`` that depend on the config."""
from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, Field

from ragkit.config import ServerConfig
from ragkit.server.errors import ApiError

# fixed ceilings of what a body may hold; the tighter, configurable ones are checked by check_* below
PATH_CHARS = 4096
MAX_PATHS = 1000
PATTERN_CHARS = 1000
MAX_PATTERNS = 100
MAX_TURNS = 1000
NAME_CHARS = 100

Path_ = Annotated[str, Field(max_length=PATH_CHARS)]
Pattern = Annotated[str, Field(max_length=PATTERN_CHARS)]


class Turn(BaseModel):
    role: Literal["user", "assistant", "system"]
    content: str


class AskRequest(BaseModel):
    question: str = Field(min_length=1, description="The question (at most server.max_question_chars).")
    history: Optional[list[Turn]] = Field(
        None, max_length=MAX_TURNS,
        description="Earlier turns (at most server.max_history_turns): follow-ups are rewritten with them.")
    k: Optional[int] = Field(None, ge=1, le=100, description="Passages to retrieve (default: retrieval.k).")
    where: Optional[dict[str, Any]] = Field(None, description="Filter: metadata keys, source_prefix, format, kind.")
    generator: Optional[str] = Field(
        None, max_length=NAME_CHARS,
        description="Generator backend: generator.name (the default) or one of server.generators.")
    stream: bool = Field(False, description="Server-Sent Events: token events, then one answer event.")


class IndexRequest(BaseModel):
    paths: list[Path_] = Field(min_length=1, max_length=MAX_PATHS,
                               description="Files or folders on the server, under server.allowed_root.")
    meta: Optional[dict[str, str]] = Field(None, description="Metadata of every document (server.max_meta_chars as JSON).")
    include: Optional[list[Pattern]] = Field(None, max_length=MAX_PATTERNS)
    exclude: Optional[list[Pattern]] = Field(None, max_length=MAX_PATTERNS)


def _over(what: str, size: int, limit: int, key: str, unit: str = "characters") -> ApiError:
    return ApiError(422, f"{what}: {size} {unit}, over the limit of {limit} (server.{key})")


def check_text(what: str, text: str, config: ServerConfig) -> None:
    """422 when ``text`` (a question, a history turn, a query) is longer than server.max_question_chars."""
    if len(text) > config.max_question_chars:
        raise _over(what, len(text), config.max_question_chars, "max_question_chars")


def check_meta(what: str, value: Any, config: ServerConfig) -> None:
    """422 when ``value`` (a where filter, index metadata) is longer than server.max_meta_chars as JSON."""
    if value:
        size = len(json.dumps(value, ensure_ascii=False))
        if size > config.max_meta_chars:
            raise _over(what, size, config.max_meta_chars, "max_meta_chars")


def check_ask(body: AskRequest, config: ServerConfig) -> None:
    check_text("question", body.question, config)
    turns = body.history or []
    if len(turns) > config.max_history_turns:
        raise _over("history", len(turns), config.max_history_turns, "max_history_turns", "turns")
    for i, turn in enumerate(turns):
        check_text(f"history.{i}.content", turn.content, config)
    check_meta("where", body.where, config)


def check_index(body: IndexRequest, config: ServerConfig) -> None:
    check_meta("meta", body.meta, config)
