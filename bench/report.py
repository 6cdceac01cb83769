"""Tables of docs/benchmarks.md rendered from bench/results/*.json, and the benches' shared JSON tail.

    python -m bench report            # rewrite the marked sections of docs/benchmarks.md
    python -m bench report --check    # exit 1 (and name them) when a marked section is out of date

A marked section is the text between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` (each marker
on a line of its own). NAME is one of :data:`RENDERERS` (a table drawn from several results files) or
the stem of one results file, ``bench/results/NAME.json``, rendered as a key/value table. Everything
outside the markers is hand-written and left alone.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

DOC = harness.ROOT / "docs" / "benchmarks.md"
MARKER = re.compile(r"^<!-- bench:(?P<name>[A-Za-z0-9_.-]+) -->\n(?P<body>.*?)^<!-- /bench:(?P=name) -->$",
                    re.MULTILINE | re.DOTALL)


def emit_report(report: Any, path: Path | None) -> None:
    """Print ``report`` as one JSON document (machine facts added); also write it to ``path`` when given."""
    harness.emit(report, path=path)


# -- number formats (half-up on the printed value, as a reader of the JSON would round) ----------------
def fixed(x: float, digits: int) -> str:
    """``x`` with ``digits`` decimals, rounded half-up from its shortest decimal form (0.185 -> 0.19)."""
    quantum = Decimal(1).scaleb(-digits)
    return str(Decimal(repr(float(x))).quantize(quantum, rounding=ROUND_HALF_UP))


def ratio(a: float, b: float) -> str:
    """``a / b`` as ``1.32×`` (one decimal from 10× up)."""
    r = a / b
    return f"{fixed(r, 1 if r >= 10 else 2)}×"


def mb(x: float) -> str:
    """Megabytes: ``2,374`` from 100 up, whole numbers from 10, else one decimal."""
    if x >= 100:
        return f"{round(x):,}"
    return fixed(x, 0) if x >= 10 else fixed(x, 1)


def rss(mib: float) -> str:
    """A peak RSS in MB (below 1,000) or GB with two decimals."""
    return f"{round(mib)} MB" if mib < 1000 else f"{fixed(mib / 1000, 2)} GB"


def load(results: Path, name: str) -> dict[str, Any]:
    path = results / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} (needed by docs/benchmarks.md; rerun the bench that writes it)")
    return json.loads(path.read_text(encoding="utf-8"))


SIZES = ((10_000, "10k"), (100_000, "100k"), (1_000_000, "1M"))


# -- the scale tables (bench/scale.py measure) ---------------------------------------------------------
def scale_queries(results: Path) -> str:
    """Queries in a fresh process, peak RSS, cold open and disk at 10k / 100k / 1M (``scale-after-N.json``)."""
    rows = []
    for n, label in SIZES:
        r = load(results, f"scale-after-{n}")
        q, disk = r["query"], r["disk_bytes"]
        rows.append([f"{label} chunks", f"{q['lexical']['p50_ms']} / {q['lexical']['p95_ms']}",
                     f"{q['dense']['p50_ms']} / {q['dense']['p95_ms']}",
                     f"**{q['hybrid']['p50_ms']} / {q['hybrid']['p95_ms']}**", f"{round(q['peak_rss_mb']):,} MB",
                     f"{fixed(q['cold_open_s'], 2)} s",
                     " / ".join(mb(disk[k] / 1e6) for k in ("manifest", "vectors", "lexical")) + " MB"])
    return harness.markdown_table(["store", "lexical p50 / p95", "dense p50 / p95", "**hybrid p50 / p95**",
                                   "peak RSS of the query process", "cold open", "disk: manifest / vectors / lexical"],
                                  rows)


def _commit_and_queries(results: Path, suffix: str, sizes: tuple[tuple[int, str], ...], bold_ratio: bool) -> str:
    runs = {label: load(results, f"scale-after-{n}{suffix}") for n, label in sizes}
    rows = []
    last = sizes[-1][1]
    for label, r in runs.items():
        c, q = r["commit"], r["query"]
        hybrid = f"{q['hybrid']['p50_ms']} / {q['hybrid']['p95_ms']} ms"
        rows.append([f"{label} chunks", f"{fixed(c['add_s'], 2)} s", f"{fixed(c['update_s'], 2)} s",
                     f"{fixed(c['delete_s'], 3)} s", f"{fixed(c['delete_phases_s']['repair+scan'], 3)} s",
                     f"**{hybrid}**" if label == last else hybrid, f"{q['dense']['p50_ms']} ms",
                     f"{q['lexical']['p50_ms']} ms", rss(q["peak_rss_mb"])])
    small, big = runs[sizes[0][1]]["commit"], runs[last]["commit"]
    name = f"ratio {last} / {sizes[0][1]}"
    rows.append([f"**{name}**" if bold_ratio else name,
                 *(f"**{ratio(big[k], small[k])}**" for k in ("add_s", "update_s", "delete_s")), "", "", "", "", ""])
    return harness.markdown_table(["store", "add", "update", "delete", "repair + scan (delete)", "hybrid p50 / p95",
                                   "dense p50", "lexical p50", "query RSS"], rows)


def scale_default_hnsw(results: Path) -> str:
    """10k vs 1M with ragkit's default HNSW settings (``scale-after-N-default-hnsw.json``)."""
    return _commit_and_queries(results, "-default-hnsw", (SIZES[0], SIZES[2]), bold_ratio=False)


def scale_o1check(results: Path) -> str:
    """The same three stores after the pre-write check became O(1) (``scale-after-N-default-hnsw-o1check.json``)."""
    return _commit_and_queries(results, "-default-hnsw-o1check", SIZES, bold_ratio=True)


RENDERERS: dict[str, Callable[[Path], str]] = {
    "scale-queries": scale_queries,
    "scale-default-hnsw": scale_default_hnsw,
    "scale-o1check": scale_o1check,
}


def generic(results: Path, name: str) -> str:
    """One results file as a ``| key | value |`` table of its scalars (nested keys dotted)."""
    rows = [(f"`{k}`", json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in harness.flatten(load(results, name))]
    return harness.markdown_table(["key", "value"], rows)


def render(name: str, results: Path) -> str:
    """The body of the section NAME (no trailing newline)."""
    if name in RENDERERS:
        return RENDERERS[name](results)
    return generic(results, name)


# -- the document --------------------------------------------------------------------------------------
def render_doc(text: str, results: Path) -> tuple[str, list[str]]:
    """``text`` with every marked section re-rendered, and the names of those whose body changed."""
    changed: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        body = render(name, results) + "\n"
        if body != match["body"]:
            changed.append(name)
        return f"<!-- bench:{name} -->\n{body}<!-- /bench:{name} -->"

    return MARKER.sub(replace, text), changed


def sections(text: str) -> list[str]:
    """The names of the marked sections of ``text``, in order."""
    return [m["name"] for m in MARKER.finditer(text)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a section is out of date")
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--results", type=Path, default=harness.RESULTS)
    args = parser.parse_args(argv)
    text = args.doc.read_text(encoding="utf-8")
    try:
        new, changed = render_doc(text, args.results)
    except (FileNotFoundError, KeyError) as exc:
        print(f"cannot render {args.doc}: {exc}", file=sys.stderr)
        return 2
    names = sections(text)
    if args.check:
        if changed:
            print(f"{args.doc}: out of date: {', '.join(changed)} (run `python -m bench report`)", file=sys.stderr)
            return 1
        print(f"{args.doc}: {len(names)} sections in sync with {args.results} ({', '.join(names) or 'none'})")
        return 0
    if new != text:
        args.doc.write_text(new, encoding="utf-8")
    print(f"{args.doc}: {len(names)} sections, rewrote {', '.join(changed) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
