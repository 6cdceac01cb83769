"""``python -m bench NAME [args...]``: run bench/NAME.py's ``main`` with the remaining arguments.

``python -m bench --list`` lists the benches with the first line of their docstrings;
``python -m bench report [--check]`` renders bench/results/*.json into docs/benchmarks.md (bench/report.py).
"""
from __future__ import annotations

import ast
import importlib
import inspect
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# modules of bench/ that are not benchmarks: the harness, the doc renderer, shared helpers without a main
NOT_BENCHES = {"__init__", "__main__", "harness", "report"}


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


def benches() -> dict[str, str]:
    """Every bench's name (the file's stem) and the first line of its docstring, sorted by name.

    A bench is a ``bench/*.py`` file that defines a top-level ``main``; helper modules (``hotpot.py``) are not.
    """
    found: dict[str, str] = {}
    for path in sorted(BENCH.glob("*.py")):
        if path.stem in NOT_BENCHES or path.stem.startswith("_"):
            continue
        tree = _parse(path)
        if tree is None or not any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body):
            continue
        doc = (ast.get_docstring(tree) or "").strip()
        found[path.stem] = doc.split("\n")[0] if doc else ""
    return found


def listing() -> str:
    names = benches()
    width = max(map(len, names), default=0)
    lines = [f"{name.ljust(width)}  {doc}" for name, doc in names.items()]
    lines.append("")
    lines.append(f"{'report'.ljust(width)}  render bench/results/*.json into docs/benchmarks.md (--check: in sync?)")
    return "\n".join(lines)


USAGE = "usage: python -m bench NAME [args...] | python -m bench --list | python -m bench report [--check]"


def run(name: str, argv: list[str]) -> int:
    """Import bench/NAME.py as ``bench.NAME`` and call its ``main`` with ``argv``; its exit status."""
    from bench import harness  # noqa: F401  (puts the repository root on sys.path)

    module = importlib.import_module(f"bench.{name}")
    main = module.main
    sys.argv = [str(BENCH / f"{name}.py"), *argv]  # argparse's prog, and benches that read sys.argv
    try:
        takes_argv = bool(inspect.signature(main).parameters)
    except (TypeError, ValueError):
        takes_argv = False
    result = main(argv) if takes_argv else main()
    return result if isinstance(result, int) else 0


def cli(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        print(__doc__)
        return 0 if argv else 2
    if argv[0] in ("--list", "-l", "list"):
        print(listing())
        return 0
    name, rest = argv[0], argv[1:]
    if name == "report":
        return run(name, rest)
    valid = benches()
    if name not in valid:
        print(f"unknown bench {name!r}; valid names: {', '.join(valid)}, report", file=sys.stderr)
        return 2
    return run(name, rest)


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
