"""Answer quality (``ragkit eval qa``) on HotpotQA pooled 700 for every offline generator: EM, F1, answer-in, citations.

    python -m bench qa [--data DIR] [--store DIR] [--seed-store DIR] [--generators extractive,local]
                       [--limit N | --limit NAME=N ...] [--mode M] [--json bench/results/qa.json]

Both files of ``--data`` (the raw-200 distractor file and the IRCoT-500 file) pool their paragraphs into
one store, exactly as ``ragkit eval qa`` / ``ragkit eval multihop`` do; ``--store`` is built on first use
and reused (unchanged paragraphs are skipped). ``--seed-store`` copies an existing store of the same
paragraphs (e.g. one ``ragkit eval multihop`` built over both files) to ``--store`` when that does not
exist yet; the seed itself is never written. Each generator is scored by ``ragkit.eval.qa.evaluate_qa``,
the function behind ``ragkit eval qa``, over the first N questions in file order (raw 200 first):
``extractive`` all 700 by default, ``local`` (SmolLM2-135M GGUF, seconds per question) 100. A generator
that cannot run here (no model) is reported with its error and the others still run.

``short_ms`` is what the short answer adds to each ``ask`` (issue 22: at most 50 ms p50 on 2 cores): the
wall time of ``attach_short`` (composing, citing and verifying the short answer and its evidence
sentences) in every answer of the run, p50 / p95 / mean, beside the p50 of the whole ``ask``.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads libgomp (see ragkit/generation/local.py)

import shutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

DATA = harness.data_path("hotpotqa_dev_subset")
FILES = ("hotpotqa_dev_distractor_raw200.jsonl", "hotpotqa_dev_ircot500.jsonl")
DEFAULT_STORE = Path.home() / ".cache" / "ragkit" / "bench" / "qa-hotpot"
GENERATORS = ("extractive", "local")
DEFAULT_LIMITS: dict[str, int | None] = {"extractive": None, "local": 100}


def parse_limits(values: list[str] | None, generators: list[str]) -> dict[str, int | None]:
    """Per-generator question limits: ``N`` (every generator) or ``NAME=N``, over DEFAULT_LIMITS."""
    limits = {g: DEFAULT_LIMITS.get(g) for g in generators}
    for value in values or []:
        name, sep, number = value.rpartition("=")
        if not sep:
            limits = {g: int(number) for g in generators}
        elif name in limits:
            limits[name] = int(number)
        else:
            raise SystemExit(f"--limit {value}: {name!r} is not one of --generators {','.join(generators)}")
    return limits


def prepare_store(store: Path, seed: Path | None) -> None:
    """Copy ``seed`` to ``store`` when ``store`` does not exist yet (the seed is only read)."""
    if seed is not None and not store.exists():
        if not (seed / "manifest.sqlite").exists():
            raise SystemExit(f"--seed-store {seed}: not a ragkit store (no manifest.sqlite)")
        harness.log(f"copying {seed} to {store}")
        store.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(seed, store, ignore=shutil.ignore_patterns("write.lock"))


def time_short_answers() -> list[float]:
    """Time every call of ``attach_short`` made by the answer pipeline (ms), from now on."""
    from ragkit.generation import pipeline

    spent: list[float] = []
    attach = pipeline.attach_short

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return attach(*args, **kwargs)
        finally:
            spent.append((time.perf_counter() - t0) * 1000)

    pipeline.attach_short = timed  # type: ignore[assignment]
    return spent


def overhead(ms: list[float]) -> dict[str, Any]:
    """p50, p95 and mean of the short answer's milliseconds (None when no answer reached it)."""
    if not ms:
        return {"calls": 0, "p50": None, "p95": None, "mean": None}
    order = sorted(ms)
    return {"calls": len(ms), "p50": round(order[len(order) // 2], 2),
            "p95": round(order[min(len(order) - 1, int(0.95 * len(order)))], 2), "mean": round(sum(ms) / len(ms), 2)}


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__, data=DATA)
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE, help=f"store (default: {DEFAULT_STORE})")
    parser.add_argument("--seed-store", type=Path, default=None, help="copy this store to --store first when --store is missing")
    parser.add_argument("--generators", default=",".join(GENERATORS), help="comma-separated (default: extractive,local)")
    parser.add_argument("--limit", action="append", default=None, metavar="N|NAME=N",
                        help="questions per generator (default: extractive all, local 100); repeatable")
    parser.add_argument("--mode", default=None, help="retrieval mode (default: the store's)")
    args = parser.parse_args(argv)
    generators = [g.strip() for g in args.generators.split(",") if g.strip()]
    limits = parse_limits(args.limit, generators)

    import ragkit
    from ragkit.eval.beir import index_corpus
    from ragkit.eval.multihop import load_multihop, paragraph_documents
    from ragkit.eval.qa import evaluate_qa

    files = [args.data / name for name in FILES]
    paragraphs, questions = load_multihop(files)
    prepare_store(args.store, args.seed_store)
    kit = ragkit.open(args.store)
    report: dict[str, Any] = {"data": str(args.data), "files": list(FILES), "store": str(args.store),
                              "paragraphs": len(paragraphs), "questions_with_answers": sum(1 for q in questions if q.answers)}
    try:
        indexed = index_corpus(kit, list(paragraph_documents(paragraphs)))
        report["index_seconds"] = indexed["index_seconds"]
        harness.log(f"indexed {len(paragraphs)} paragraphs in {indexed['index_seconds']} s")
        results: dict[str, Any] = {}
        added = time_short_answers()
        for name in generators:
            added.clear()
            t0 = time.perf_counter()

            def progress(stage: str, done: int, total: int, name: str = name) -> None:
                if done == total or done % 25 == 0:
                    harness.log(f"{name}: {done}/{total} questions")

            try:
                result = evaluate_qa(kit, questions, generator=name, mode=args.mode, limit=limits[name], progress=progress)
            except Exception as exc:  # noqa: BLE001 - a generator that cannot run here is reported, the others run
                results[name] = {"error": f"{type(exc).__name__}: {exc}", "limit": limits[name]}
                harness.log(f"{name}: {results[name]['error']}")
                continue
            result["limit"] = limits[name]
            result["short_ms"] = overhead(added)
            result["seconds"] = round(time.perf_counter() - t0, 1)
            results[name] = result
            harness.log(f"{name}: em {result['em']} f1 {result['f1']} answer_in {result['answer_in']} "
                        f"cite P/R {result['citation_precision']}/{result['citation_recall']} "
                        f"abstained {result['abstained']} {result['s_per_question']} s/q, short answer +{result['short_ms']['p50']} ms p50")
        report["generators"] = results
    finally:
        kit.close()
    failed = [n for n, r in report["generators"].items() if "error" in r]
    return harness.emit(report, args, status=1 if failed and len(failed) == len(generators) else 0)


if __name__ == "__main__":
    sys.exit(main())
