"""What the benchmarks share: paths, the argument parser, data loading, timing, machine facts, the JSON tail.

Every ``bench/NAME.py`` builds its parser with :func:`parser` (which adds ``--json`` and ``--quiet``,
and ``--data`` where the bench reads a data set), times with :func:`stopwatch` / :func:`percentiles_ms`,
and ends with :func:`emit`: the report as one JSON document on stdout (unless ``--quiet``), written to
``--json`` when given, with the machine facts under ``machine`` (a report that already has a ``machine``
key keeps its own). Run a bench with ``python -m bench NAME [args]`` (``python -m bench --list``).
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import gzip
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
SHARED_DATA = ROOT.parent / "shared" / "data"


def setup_paths() -> None:
    """The repository root importable (``ragkit``, ``connectors``, ``tests``, and ``bench`` itself).

    Only the root: a bench imports its siblings as ``bench.hotpot`` etc. (``bench/`` on ``sys.path``
    would let ``bench/tables.py`` shadow PyTables in whatever process imports the harness)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


setup_paths()


def data_path(*parts: str) -> Path:
    """A path under the shared data folder (``../shared/data`` next to the repository)."""
    return SHARED_DATA.joinpath(*parts)


# -- arguments -----------------------------------------------------------------------------------------
_QUIET = False
SUPPRESS = argparse.SUPPRESS  # help= of the hidden options (a bench's child modes)


class BenchParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that folds an optional positional data path into ``args.data``."""

    positional_data: str | None = None

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        global _QUIET
        ns = super().parse_args(args, namespace)
        if self.positional_data:
            given = getattr(ns, self.positional_data)
            delattr(ns, self.positional_data)
            if given is not None:
                ns.data = given
        _QUIET = bool(getattr(ns, "quiet", False))
        return ns


def parser(doc: str | None, *, data: Path | None = None, positional_data: bool = False, json_option: bool = True,
           common: bool = True, full_doc: bool = False, **kwargs: Any) -> BenchParser:
    """The parser of one bench: its description from ``doc`` and the common options (:func:`add_common`).

    ``full_doc``: the whole docstring as the description (kept verbatim), else its first line.
    ``common=False``: no options here (a bench with subcommands adds them to each with :func:`add_common`).
    """
    doc = doc or ""
    description = doc if full_doc else doc.strip().split("\n")[0]
    if full_doc:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
    p = BenchParser(description=description, **kwargs)
    if common:
        add_common(p, data=data, positional_data=positional_data, json_option=json_option)
    return p


def add_common(p: argparse.ArgumentParser, *, data: Path | None = None, positional_data: bool = False,
               json_option: bool = True) -> argparse.ArgumentParser:
    """Add the common options to ``p`` (a bench's parser or one of its subcommands' parsers).

    ``--json PATH`` (also write the report there) and ``--quiet`` (no report on stdout, no progress on
    stderr from :func:`log`); ``--data PATH`` (default ``data``) when ``data`` is given, and then also
    an optional positional data path when ``positional_data`` (the older spelling of some benches).
    """
    if data is not None:
        p.add_argument("--data", type=Path, default=data, help=f"data set (default: {data})")
        if positional_data:
            p.add_argument("data_positional", nargs="?", type=Path, default=None, metavar="DATA",
                           help="the same as --data")
            if isinstance(p, BenchParser):
                p.positional_data = "data_positional"
    if json_option:
        p.add_argument("--json", type=Path, default=None, help="also write the JSON report to this file")
    p.add_argument("--quiet", action="store_true", help="no JSON on stdout and no progress lines")
    return p


def log(message: str) -> None:
    """A progress line on stderr (silent under ``--quiet``)."""
    if not _QUIET:
        print(message, file=sys.stderr, flush=True)


# -- data ----------------------------------------------------------------------------------------------
def open_text(path: Path) -> Any:
    """``path`` opened for text reading, gunzipped when it ends in ``.gz``."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_jsonl(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The JSON objects of a ``.jsonl`` (or ``.jsonl.gz``) file, the first ``limit`` when given."""
    rows: list[dict[str, Any]] = []
    with open_text(path) as fh:
        for line in fh:
            if line.strip():
                rows.append(json.loads(line))
                if limit is not None and len(rows) >= limit:
                    break
    return rows


def find_file(folder: Path, name: str) -> Path:
    """``folder/name``, or its ``.gz`` sibling when only that exists."""
    plain = folder / name
    if plain.exists() or not (folder / f"{name}.gz").exists():
        return plain
    return folder / f"{name}.gz"


def beir_corpus(folder: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The rows of a BEIR folder's ``corpus.jsonl`` (or ``.gz``): ``_id``, ``title``, ``text``."""
    return read_jsonl(find_file(folder, "corpus.jsonl"), limit)


def beir_queries(folder: Path) -> list[dict[str, Any]]:
    """The rows of a BEIR folder's ``queries.jsonl`` (or ``.gz``)."""
    return read_jsonl(find_file(folder, "queries.jsonl"))


@contextlib.contextmanager
def temp_kit(config: Any = None, prefix: str = "ragkit-bench-") -> Iterator[Any]:
    """A Kit over a fresh store in a temporary folder, closed and removed afterwards."""
    import ragkit

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        kit = ragkit.open(Path(tmp) / "store", config) if config is not None else ragkit.open(Path(tmp) / "store")
        try:
            yield kit
        finally:
            close = getattr(kit, "close", None)
            if close:
                close()


# -- timing --------------------------------------------------------------------------------------------
class Stopwatch:
    """``with stopwatch() as t: ...``; then ``t.seconds`` (``time.perf_counter``), ``t.ms``."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started

    @property
    def ms(self) -> float:
        return self.seconds * 1000

    def elapsed(self) -> float:
        """Seconds since the start (while still running)."""
        return time.perf_counter() - self.started


def stopwatch() -> Stopwatch:
    return Stopwatch()


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """``fn(*args, **kwargs)`` and the seconds it took."""
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def percentile(values: Iterable[float], q: float) -> float:
    """``numpy.percentile(values, q)`` (linear interpolation between the closest ranks)."""
    import numpy as np

    return float(np.percentile(list(values), q))


def percentiles_ms(times_ms: Sequence[float], digits: int = 2, qs: Sequence[int] = (50, 95)) -> dict[str, float]:
    """``{"p50_ms": …, "p95_ms": …}`` of latencies already in milliseconds, rounded to ``digits``."""
    return {f"p{q}_ms": round(percentile(times_ms, q), digits) for q in qs}


# -- machine facts and the JSON tail -------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The checkout's HEAD commit (``+dirty`` when tracked files differ from it), or None outside git."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "diff", "--quiet", "HEAD", "--"], capture_output=True,
                               timeout=30).returncode == 1
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head


def machine() -> dict[str, Any]:
    """The facts a result needs to be read: cores, platform, Python, load, git commit, time (UTC)."""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "load_avg": load,
        "git_commit": git_commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def with_machine(report: Any) -> Any:
    """``report`` with ``machine`` facts added when it is a dict without that key (a copy; else as is)."""
    if isinstance(report, dict) and "machine" not in report:
        return {**report, "machine": machine()}
    return report


def write_json(report: Any, path: Path, **dumps: Any) -> Path:
    """Write ``report`` (machine facts added, see :func:`with_machine`) to ``path``; parents created."""
    dumps.setdefault("indent", 2)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(with_machine(report), **dumps) + "\n", encoding="utf-8")
    return path


def result_path(name: str) -> Path:
    """``bench/results/NAME.json``."""
    return RESULTS / f"{name}.json"


def emit(report: Any, args: Any = None, *, path: Path | None = None, status: int = 0, **dumps: Any) -> int:
    """The tail of every bench: the report (machine facts added) as JSON on stdout unless ``--quiet``,
    and written to ``--json`` (``args.json``) or ``path`` when given. Returns ``status`` (the exit code)."""
    dumps.setdefault("indent", 2)
    target = path or (getattr(args, "json", None) if args is not None else None)
    full = with_machine(report)
    text = json.dumps(full, **dumps)
    if target:
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text + "\n", encoding="utf-8")
    if not (getattr(args, "quiet", False) if args is not None else False):
        print(text, flush=True)
    return status


# -- tables --------------------------------------------------------------------------------------------
def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table (``| a | b |`` lines, the docs' style), no trailing newline."""
    def line(cells: Iterable[Any]) -> str:
        texts = ["" if c is None else str(c) for c in cells]
        return "|" + "|".join(f" {t} " if t else " " for t in texts) + "|"

    return "\n".join([line(headers), line("---" for _ in headers), *(line(row) for row in rows)])


def flatten(report: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """``(dotted.key, value)`` pairs of the scalars (and short lists) of a nested report."""
    if isinstance(report, dict):
        pairs: list[tuple[str, Any]] = []
        for key, value in report.items():
            pairs += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return pairs
    if isinstance(report, list) and any(isinstance(x, (dict, list)) for x in report):
        return [pair for i, x in enumerate(report) for pair in flatten(x, f"{prefix}[{i}]")]
    return [(prefix, report)]
