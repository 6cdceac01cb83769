"""The bench harness: ``python -m bench`` (list, run, unknown names), the shared parser, the JSON tail with
machine facts, data helpers, and docs rendering from results files into marked sections.

Everything runs on fixtures built here (no ../shared data, no model)."""
from __future__ import annotations

import ast
import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench import __main__ as bench_main
from bench import harness, report

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"


def _python_m_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def _bench_files() -> dict[str, ast.Module]:
    """bench/*.py files that define a top-level main (the benches), parsed."""
    out = {}
    for path in sorted(BENCH.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if path.stem not in bench_main.NOT_BENCHES and any(
                isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body):
            out[path.stem] = tree
    return out


def test_list_names_every_bench_with_its_docstring() -> None:
    proc = _python_m_bench("--list")
    assert proc.returncode == 0, proc.stderr
    listed = {line.split()[0]: line for line in proc.stdout.splitlines() if line.strip()}
    files = _bench_files()
    assert len(files) >= 25  # the benches of bench/ (29 scripts less the helpers)
    for name, tree in files.items():
        assert name in listed, name
        first = (ast.get_docstring(tree) or "").strip().split("\n")[0]
        assert first and first in listed[name], (name, first)
    assert "hotpot" not in listed  # a helper module (no main), not a bench
    assert "harness" not in listed and "report" in listed  # report: the docs renderer, listed as a tool


def test_unknown_name_is_an_error_listing_the_valid_names() -> None:
    proc = _python_m_bench("no-such-bench")
    assert proc.returncode == 2
    assert "unknown bench 'no-such-bench'" in proc.stderr
    for name in ("check", "scale", "retrieval", "report"):
        assert name in proc.stderr


def test_run_passes_the_remaining_arguments_to_main() -> None:
    proc = _python_m_bench("check", "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: check.py")
    for option in ("--data", "--json", "--quiet", "--store", "--rounds"):
        assert option in proc.stdout
    sub = _python_m_bench("scale", "measure", "--help")  # a subcommand gets the common options too
    assert sub.returncode == 0, sub.stderr
    assert "--json" in sub.stdout and "--quiet" in sub.stdout and "--label" in sub.stdout


def test_every_bench_uses_the_shared_parser_and_takes_argv() -> None:
    for name, tree in _bench_files().items():
        source = (BENCH / f"{name}.py").read_text(encoding="utf-8")
        assert "harness.parser(" in source, name
        assert "argparse.ArgumentParser(" not in source, name
        main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main")
        assert [a.arg for a in main.args.args] == ["argv"], name


def test_parser_common_options_and_positional_data(tmp_path: Path) -> None:
    default = tmp_path / "default"
    p = harness.parser("Doc line one.\n\nMore.", data=default, positional_data=True)
    p.add_argument("--rounds", type=int, default=3)
    assert p.description == "Doc line one."
    args = p.parse_args([])
    assert (args.data, args.json, args.quiet, args.rounds) == (default, None, False, 3)
    assert not hasattr(args, "data_positional")
    assert p.parse_args([str(tmp_path / "pos")]).data == tmp_path / "pos"
    assert p.parse_args(["--data", str(tmp_path / "opt")]).data == tmp_path / "opt"
    args = p.parse_args(["--json", str(tmp_path / "o.json"), "--quiet"])
    assert args.json == tmp_path / "o.json" and args.quiet
    with pytest.raises(SystemExit):
        harness.parser(None).parse_args(["--data", "x"])  # no data option unless asked for
    harness.parser(None).parse_args([])  # and resets the quiet flag


def test_emit_adds_machine_facts_writes_json_and_honours_quiet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "deep" / "r.json"
    args = harness.parser(None).parse_args(["--json", str(out)])
    report_in = {"rounds": 2, "p50_ms": 1.5}
    assert harness.emit(report_in, args, status=3) == 3
    printed = json.loads(capsys.readouterr().out)
    written = json.loads(out.read_text())
    assert printed == written
    assert written["rounds"] == 2 and written["p50_ms"] == 1.5
    machine = written["machine"]
    assert machine["cpus"] >= 1 and machine["python"] == ".".join(map(str, sys.version_info[:3]))
    assert machine["platform"] and machine["date"].endswith("Z")
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert machine["git_commit"].split("+")[0] == head
    assert "machine" not in report_in  # the caller's dict is not changed

    own = {"machine": "x86_64, 2 cores", "n": 1}  # a report with its own machine key keeps it (its schema)
    quiet = harness.parser(None).parse_args(["--quiet", "--json", str(tmp_path / "q.json")])
    harness.emit(own, quiet)
    assert capsys.readouterr().out == ""
    assert json.loads((tmp_path / "q.json").read_text()) == own

    harness.write_json([1, 2], tmp_path / "list.json")  # not a dict: written as is
    assert json.loads((tmp_path / "list.json").read_text()) == [1, 2]


def test_report_emit_report_is_the_harness_tail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report.emit_report({"a": 1}, tmp_path / "r.json")
    assert json.loads(capsys.readouterr().out)["a"] == 1
    assert "git_commit" in json.loads((tmp_path / "r.json").read_text())["machine"]


def test_data_helpers_and_timing(tmp_path: Path) -> None:
    rows = [{"_id": str(i), "title": f"t{i}", "text": "x" * i} for i in range(5)]
    folder = tmp_path / "beir"
    folder.mkdir()
    with gzip.open(folder / "corpus.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write("\n".join(json.dumps(r) for r in rows) + "\n\n")
    (folder / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "?"}) + "\n")
    assert harness.beir_corpus(folder) == rows
    assert harness.beir_corpus(folder, limit=2) == rows[:2]
    assert harness.beir_queries(folder) == [{"_id": "q1", "text": "?"}]
    assert harness.data_path("scifact") == ROOT.parent / "shared" / "data" / "scifact"

    times = [5.0, 1.0, 3.0, 2.0, 4.0, 10.0]
    assert harness.percentiles_ms(times, 2) == {"p50_ms": round(float(np.percentile(times, 50)), 2),
                                                "p95_ms": round(float(np.percentile(times, 95)), 2)}
    assert harness.percentiles_ms(times, 1, qs=(99,)) == {"p99_ms": round(float(np.percentile(times, 99)), 1)}
    value, seconds = harness.timed(sum, [1, 2, 3])
    assert value == 6 and 0 <= seconds < 5
    with harness.stopwatch() as t:
        pass
    assert 0 <= t.seconds < 5 and t.ms == t.seconds * 1000


def test_temp_kit_is_a_fresh_store_removed_afterwards() -> None:
    from connectors.base import DocumentBuilder
    from ragkit.config import Config, EmbedderConfig

    builder = DocumentBuilder()
    builder.add("Harness fixture about zebras.", "text")
    doc = builder.build(source="d1.txt", data=b"zebras", format="text")
    with harness.temp_kit(Config(embedder=EmbedderConfig(name="hash"))) as kit:
        path = Path(kit.path)
        assert path.exists() and kit.stats()["documents"] == 0
        kit.add_documents([doc])
        assert kit.stats()["documents"] == 1
        assert kit.search("zebras", k=1, mode="lexical")[0].chunk.doc_id == doc.doc_id
    assert not path.parent.exists()


def _doc(tmp_path: Path, body: str) -> Path:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Title\n\nHand-written prose, 1.23× and all.\n\n"
                   f"<!-- bench:tiny -->\n{body}\n<!-- /bench:tiny -->\n\nMore prose.\n", encoding="utf-8")
    return doc


def test_report_renders_a_results_file_into_its_markers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "results"
    results.mkdir()
    harness.write_json({"rounds": 3, "query": {"p50_ms": 12.5, "p95_ms": 20.0}, "ok": True}, results / "tiny.json")
    doc = _doc(tmp_path, "| stale | table |")
    argv = ["--doc", str(doc), "--results", str(results)]
    assert report.main([*argv, "--check"]) == 1
    assert "out of date: tiny" in capsys.readouterr().err
    assert "stale" in doc.read_text()  # --check changes nothing

    assert report.main(argv) == 0
    text = doc.read_text()
    assert text.startswith("# Title\n\nHand-written prose, 1.23× and all.\n\n<!-- bench:tiny -->\n| key | value |\n")
    assert text.endswith("<!-- /bench:tiny -->\n\nMore prose.\n")
    assert "| `rounds` | 3 |" in text and "| `query.p50_ms` | 12.5 |" in text and "| `ok` | True |" in text
    assert "| `machine.cpus` |" in text  # the facts the writer added are part of the file
    assert "stale" not in text
    assert report.main([*argv, "--check"]) == 0
    assert report.sections(text) == ["tiny"]

    harness.write_json({"rounds": 4}, results / "tiny.json")  # a rerun changes the numbers: out of date again
    assert report.main([*argv, "--check"]) == 1


def test_report_missing_results_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _doc(tmp_path, "x")
    assert report.main(["--doc", str(doc), "--results", str(tmp_path), "--check"]) == 2
    assert "tiny.json" in capsys.readouterr().err


def test_named_scale_table_from_fixture_results(tmp_path: Path) -> None:
    def run(add: float, delete: float, rss: float, hybrid: float) -> dict:
        return {"commit": {"add_s": add, "update_s": 0.5, "delete_s": delete, "delete_phases_s": {"repair+scan": 0.0062}},
                "query": {"hybrid": {"p50_ms": hybrid, "p95_ms": 40.0}, "dense": {"p50_ms": 20.0},
                          "lexical": {"p50_ms": 1.5}, "peak_rss_mb": rss}}

    for n, r in ((10_000, run(0.4, 0.0174, 761.9, 29.0)), (100_000, run(0.45, 0.019, 951.2, 30.0)),
                 (1_000_000, run(0.6, 0.0229, 2945.2, 36.3))):
        harness.write_json(r, tmp_path / f"scale-after-{n}-default-hnsw-o1check.json")
    lines = report.render("scale-o1check", tmp_path).split("\n")
    assert lines[0].startswith("| store | add | update | delete |")
    assert lines[2] == "| 10k chunks | 0.40 s | 0.50 s | 0.017 s | 0.006 s | 29.0 / 40.0 ms | 20.0 ms | 1.5 ms | 762 MB |"
    assert lines[4].startswith("| 1M chunks | 0.60 s |") and "**36.3 / 40.0 ms**" in lines[4] and "2.95 GB" in lines[4]
    assert lines[5] == "| **ratio 1M / 10k** | **1.50×** | **1.00×** | **1.32×** | | | | | |"


def test_number_formats_round_half_up() -> None:
    assert report.fixed(0.185, 2) == "0.19" and report.fixed(0.0174, 3) == "0.017"
    assert report.ratio(0.1638, 0.0152) == "10.8×" and report.ratio(0.4338, 0.4916) == "0.88×"
    assert [report.mb(x) for x in (2374.39, 99.53, 23.33, 3.44)] == ["2,374", "100", "23", "3.4"]


def test_the_repository_doc_is_in_sync_with_its_results() -> None:
    text = report.DOC.read_text(encoding="utf-8")
    assert {"scale-o1check", "scale-default-hnsw", "scale-queries"} <= set(report.sections(text))
    new, changed = report.render_doc(text, harness.RESULTS)
    assert changed == [] and new == text
