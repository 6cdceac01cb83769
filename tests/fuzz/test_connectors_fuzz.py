"""Fuzzing the connectors within CI's time (hypothesis byte mutations of generated seed files): each
input is parsed or rejected with a ConnectorError naming the file: no other exception, no hang, no
crash. Inputs run in a ParseGuard worker, so a hang or a segfault fails the test instead of the run.

The long, coverage-guided run is ``bench/fuzz.py`` (atheris); inputs it found crashing are kept in
``tests/fuzz/regressions/`` and replayed here.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.guard import ParseGuard, ParserCrashed, ParseTimeout, WorkerError
from ragkit.types import ConnectorOptions
from tests.fuzz.mutate import EDIT, apply, apply_in_zip
from tests.fuzz.seeds import write_seeds
from tests.fuzz.target import SUFFIXES, run_bytes, run_file

REGRESSIONS = Path(__file__).parent / "regressions"
TIMEOUT = 30.0  # seconds per input; the seeds are tiny, anything near this is a hang


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[bytes]]:
    return {fmt: [p.read_bytes() for p in paths] for fmt, paths in write_seeds(tmp_path_factory.mktemp("seeds")).items()}


@pytest.fixture(scope="module")
def guard():
    with ParseGuard(ConnectorOptions(parse_timeout=TIMEOUT)) as g:
        yield g


def outcome(guard: ParseGuard, data: bytes, fmt: str) -> str:
    """``parsed`` or ``rejected``; fails the test, with the input's traceback, on anything else."""
    try:
        return guard.call(run_bytes, data, fmt, path=f"<{fmt} input of {len(data)} bytes>")
    except WorkerError as exc:
        pytest.fail(f"{fmt} input raised {exc}\n{exc.trace}\ninput: {data[:300]!r}")
    except (ParseTimeout, ParserCrashed) as exc:
        pytest.fail(f"{exc}\ninput: {data[:300]!r}")


@pytest.mark.parametrize("fmt", list(SUFFIXES))
def test_seeds_parse(guard: ParseGuard, seeds: dict[str, list[bytes]], fmt: str) -> None:
    assert all(outcome(guard, data, fmt) == "parsed" for data in seeds[fmt])


@pytest.mark.parametrize("fmt", list(SUFFIXES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(pick=st.integers(0, 10), member=st.integers(0, 50), in_zip=st.booleans(), edits=st.lists(EDIT, min_size=1, max_size=6))
def test_mutated_inputs_parse_or_are_rejected(guard, seeds, fmt, pick, member, in_zip, edits) -> None:
    seed = seeds[fmt][pick % len(seeds[fmt])]
    data = apply_in_zip(seed, member, edits) if fmt in ("docx", "xlsx") and in_zip else apply(seed, edits)
    assert outcome(guard, data, fmt) in ("parsed", "rejected")


def _format_of(path: Path) -> str:
    return path.name.split("-", 1)[0]


@pytest.mark.parametrize("path", sorted(REGRESSIONS.iterdir()), ids=lambda p: p.name)
def test_regressions_found_by_fuzzing(path: Path) -> None:
    """Each input the long run crashed on, now parsed or rejected (named ``FORMAT-what.ext``)."""
    assert run_file(path, _format_of(path)) in ("parsed", "rejected")
