"""Options and output helpers every subcommand shares: --store, --json, --quiet, one JSON document."""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Callable, Iterator, Optional

import typer
from rich.console import Console

DEFAULT_STORE = Path(".ragkit")

StoreOpt = Annotated[Path, typer.Option("--store", help="Store directory.", show_default=True)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or logs on stderr.")]
AsOpt = Annotated[
    Optional[str],
    typer.Option("--as", help="Read as these access labels, comma-separated (\"\": public documents only; "
                 "default: the store's owner, who reads everything). docs/access.md"),
]


def principal_of(value: str | None) -> Any:
    """``--as`` as a ``ragkit.access.Principal`` (None: the owner); a bad label fails clearly."""
    from ragkit.access import AccessError, principal

    try:
        return principal(value)
    except AccessError as exc:
        fail(f"--as: {exc}")


ExecutorOpt = Annotated[
    Optional[str],
    typer.Option(
        "--executor",
        help="Where parsing, chunking, embedding (and batch answers) run: local | ray | ray:auto | "
        "ray://HOST:PORT (ray: the cluster at RAY_ADDRESS, else a local Ray; extra 'ray'). "
        "Default: the config's executor.name.",
        show_default=False,
    ),
]


def check_executor(spec: str | None) -> None:
    """Fail early on an executor name that is not one of the valid forms."""
    if spec is not None and spec != "local" and spec not in ("ray", "ray:auto") and not (
        spec.startswith("ray://") and len(spec) > len("ray://")
    ):
        fail(f"unknown executor {spec!r}; valid: local, ray, ray:auto, ray://HOST:PORT")


def stderr(quiet: bool = False) -> Console:
    """A console on stderr (silent when quiet): progress, logs and warnings never touch stdout."""
    return Console(stderr=True, quiet=quiet, soft_wrap=True)


def emit(data: Any, as_json: bool, human: str | None = None) -> None:
    """Write the command's result: one JSON document with --json, else ``human`` (or pretty JSON)."""
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, default=_default) + "\n")
    else:
        sys.stdout.write((human if human is not None else json.dumps(data, indent=2, ensure_ascii=False, default=_default)) + "\n")
    sys.stdout.flush()


def _default(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def fail(message: str, code: int = 1) -> None:
    """Print an error on stderr and exit non-zero."""
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)


def parse_pairs(pairs: list[str] | None, what: str) -> dict[str, str]:
    """Parse ``k=v`` options into a dict, failing clearly on a malformed one."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"{what} expects key=value, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


@contextmanager
def progress_bar(quiet: bool) -> Iterator[Callable[[str, int, int | None], None]]:
    """Rich progress bars on stderr, one per stage; yields ``update(stage, done, total)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=stderr(quiet), disable=quiet,
    ) as progress:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int | None = None) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield update
