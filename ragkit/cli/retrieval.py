"""Retrieval commands: ``ragkit tune`` and ``ragkit eval beir`` / ``ragkit eval multihop`` / ``ragkit eval qa``."""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ragkit.cli.ask import GeneratorOpt
from ragkit.cli.common import DEFAULT_STORE, JsonOpt, QuietOpt, StoreOpt, emit, fail, progress_bar, stderr

EvalStoreOpt = Annotated[
    Optional[Path],
    typer.Option("--store", help="Store to index into (reused when it already holds the corpus); default: a fresh temporary store."),
]
ModeOpt = Annotated[
    Optional[str],
    typer.Option("--mode", help="lexical | dense | hybrid (the store's default) | rrf | cc (min-max CC 0.5) | cc-zscore."),
]
CompareOpt = Annotated[
    Optional[str],
    typer.Option("--compare", help="Comma-separated modes also reported under \"modes\" (or 'all')."),
]


def _compare_list(compare: str | None) -> list[str]:
    from ragkit.eval.runner import VARIANTS

    if not compare:
        return []
    names = list(VARIANTS) if compare.strip() == "all" else [c.strip() for c in compare.split(",") if c.strip()]
    bad = [n for n in names if n not in VARIANTS]
    if bad:
        fail(f"unknown mode(s) {', '.join(bad)} in --compare; valid: {', '.join(VARIANTS)}, all")
    return names


def _check_mode(mode: str | None) -> None:
    from ragkit.eval.runner import VARIANTS

    if mode is not None and mode not in VARIANTS:
        fail(f"unknown mode {mode!r}; valid: {', '.join(VARIANTS)}")


@contextmanager
def _eval_kit(store: Path | None) -> Iterator[Any]:
    """The kit to evaluate in: ``store`` when given, else a temporary store removed afterwards."""
    import ragkit

    tmp = None
    if store is None:
        tmp = Path(tempfile.mkdtemp(prefix="ragkit-eval-"))
        store = tmp / "store"
    kit = ragkit.open(store)
    try:
        yield kit
    finally:
        kit.close()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def read_queries(path: Path) -> dict[str, str]:
    """Queries from BEIR ``queries.jsonl`` (``_id``, ``text``) or a TSV of ``id<TAB>text``."""
    from ragkit.eval.beir import read_jsonl

    if path.suffix in (".jsonl", ".gz", ".json"):
        return {str(r["_id"]): r.get("text") or "" for r in read_jsonl(path)}
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        qid, sep, text = line.partition("\t")
        if sep and qid.strip():
            out[qid.strip()] = text.strip()
    return out


def tune(
    queries: Annotated[Path, typer.Option("--queries", help="Labeled queries: BEIR queries.jsonl or id<TAB>text.", exists=True, dir_okay=False)],
    qrels: Annotated[Path, typer.Option("--qrels", help="Judgments: query-id, doc-id, score (TSV, header optional).", exists=True, dir_okay=False)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report the fit without saving it.")] = False,
    store: StoreOpt = DEFAULT_STORE,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Fit the hybrid fusion weight (and normalization) on labeled queries and save it in the store's config."""
    import ragkit
    from ragkit.eval.beir import read_qrels

    texts, judgments = read_queries(queries), read_qrels(qrels)
    labeled = {q: texts[q] for q in judgments if q in texts}
    if not labeled:
        fail(f"no query of {qrels} has a text in {queries}")
    kit = ragkit.open(store)
    if kit.store.count_chunks() == 0:
        fail(f"{store}: the store is empty; index documents first")
    try:
        result = kit.tune(labeled, judgments, save=not dry_run)
    except ValueError as exc:
        fail(str(exc))
    data = {
        "weight": result.weight,
        "normalization": result.normalization,
        "fusion": "cc",
        "ndcg@10": round(result.ndcg, 4),
        "baseline_ndcg@10": round(result.baseline, 4),
        "queries": result.queries,
        "saved": not dry_run,
        "grid": result.grid,
    }
    human = (
        f"CC weight (dense) {result.weight:.2f}, {result.normalization}: nDCG@10 {result.ndcg:.4f} "
        f"(before {result.baseline:.4f}) on {result.queries} queries" + ("" if dry_run else f"; saved to {store}")
    )
    emit(data, json, human)


def beir(
    dataset: Annotated[Path, typer.Argument(help="BEIR dataset folder (corpus.jsonl[.gz], queries.jsonl, qrels/).")],
    split: Annotated[str, typer.Option("--split", help="qrels split to report.")] = "test",
    mode: ModeOpt = None,
    tune_split: Annotated[Optional[str], typer.Option("--tune-split", help="Tune the fusion on this split first.")] = None,
    compare: CompareOpt = None,
    rerank: Annotated[Optional[str], typer.Option("--rerank", help="Also report with a reranker: nanoranker | cross-encoder.")] = None,
    rerank_model: Annotated[Optional[str], typer.Option("--rerank-model", help="Local model folder for cross-encoder.")] = None,
    store: EvalStoreOpt = None,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Index a BEIR dataset and report nDCG@10, recall@100, MRR@10 and query latency."""
    from ragkit.eval.beir import BeirDataset, evaluate_beir, index_corpus

    _check_mode(mode)
    names = _compare_list(compare)
    try:
        data_set = BeirDataset(dataset)
        data_set.qrels(split)
        if tune_split:
            data_set.qrels(tune_split)
        documents = list(data_set.documents())
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    console = stderr(quiet)
    with _eval_kit(store) as kit:
        if rerank:
            kit.config.reranker.name = rerank
            kit.config.reranker.model_path = rerank_model or kit.config.reranker.model_path
        with progress_bar(quiet) as update:
            indexed = index_corpus(kit, documents, progress=update)
            console.print(f"indexed {indexed['documents']} documents into {indexed['chunks']} chunks in {indexed['index_seconds']} s")
            result = evaluate_beir(
                kit, data_set, split=split, mode=mode, compare=names, tune_split=tune_split, rerank=bool(rerank), progress=update
            )
    result = {**result, "index_seconds": indexed["index_seconds"], "documents": indexed["documents"], "chunks": indexed["chunks"]}
    human = _table(result, ("ndcg@10", "recall@100", "mrr@10", "query_ms_p50", "query_ms_p95"))
    emit(result, json, human)


def multihop(
    files: Annotated[list[Path], typer.Argument(help="HotpotQA / 2Wiki, IRCoT or MuSiQue files (.json or .jsonl).", exists=True, dir_okay=False)],
    mode: ModeOpt = None,
    compare: CompareOpt = None,
    store: EvalStoreOpt = None,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Pool the files' paragraphs into one corpus and report supporting-paragraph recall@2 and @5."""
    from ragkit.eval.multihop import evaluate_multihop, load_multihop

    _check_mode(mode)
    names = _compare_list(compare)
    try:
        paragraphs, questions = load_multihop(files)
    except ValueError as exc:
        fail(str(exc))
    console = stderr(quiet)
    with _eval_kit(store) as kit:
        with progress_bar(quiet) as update:
            indexed = _index_multihop(kit, paragraphs, update, console)
            result = evaluate_multihop(kit, questions, mode=mode, compare=names, progress=update)
    result = {**result, "paragraphs": len(paragraphs), "index_seconds": indexed["index_seconds"], "files": [str(f) for f in files]}
    emit(result, json, _table(result, ("recall@2", "recall@5", "query_ms_p50", "query_ms_p95")))


def _index_multihop(kit: Any, paragraphs: list[Any], update: Any, console: Any) -> dict[str, Any]:
    """Index the pooled paragraphs into the kit's store (unchanged ones skipped: a store reused)."""
    from ragkit.eval.beir import index_corpus
    from ragkit.eval.multihop import paragraph_documents

    indexed = index_corpus(kit, list(paragraph_documents(paragraphs)), progress=update)
    console.print(f"indexed {len(paragraphs)} paragraphs in {indexed['index_seconds']} s")
    return indexed


def qa(
    files: Annotated[list[Path], typer.Argument(help="HotpotQA / 2Wiki, IRCoT or MuSiQue files (.json or .jsonl).", exists=True, dir_okay=False)],
    generator: GeneratorOpt = None,
    mode: ModeOpt = None,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Ask only the first N questions (file order).", min=0)] = None,
    store: EvalStoreOpt = None,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Pool the files' paragraphs, ask every question and report EM, F1, answer-in-text, citation
    precision / recall, abstentions and seconds per question, overall and per question type."""
    from ragkit.eval.multihop import load_multihop
    from ragkit.eval.qa import evaluate_qa
    from ragkit.generation import GENERATORS, GeneratorError

    _check_mode(mode)
    if generator is not None and generator not in GENERATORS:
        fail(f"unknown generator {generator!r}; valid: {', '.join(GENERATORS)}")
    try:
        paragraphs, questions = load_multihop(files)
    except ValueError as exc:
        fail(str(exc))
    if not any(q.answers for q in questions):
        fail("no question of the given files has a gold answer")
    console = stderr(quiet)
    with _eval_kit(store) as kit:
        with progress_bar(quiet) as update:
            indexed = _index_multihop(kit, paragraphs, update, console)
            try:
                result = evaluate_qa(kit, questions, generator=generator, mode=mode, limit=limit, progress=update)
            except (GeneratorError, OSError) as exc:
                fail(str(exc))
    result = {**result, "paragraphs": len(paragraphs), "index_seconds": indexed["index_seconds"], "files": [str(f) for f in files]}
    emit(result, json, _qa_table(result))


def _qa_table(result: dict[str, Any]) -> str:
    columns = ("em", "f1", "answer_in", "citation_precision", "citation_recall", "abstained", "s_per_question")
    heads = ("em", "f1", "answer_in", "cite_prec", "cite_rec", "abstained", "s/question")
    rows = [("all", result)] + sorted(result["by_type"].items())
    width = max(len(n) for n, _ in rows) + 2
    lines = ["type".ljust(width) + "".join(h.rjust(11) for h in heads) + "questions".rjust(11)]
    for name, r in rows:
        cells = "".join("-".rjust(11) if r.get(c) is None else f"{r[c]:>11.4g}" for c in columns)
        lines.append(name.ljust(width) + cells + f"{r['questions']:>11}")
    d = result["decided_with_evidence"]
    share = "-" if d["share"] is None else f"{d['share']:.0%}"
    lines.append(f"\ngenerator {result['generator']}, mode {result['mode']}; comparison and yes/no questions with "
                 f"all evidence in the top {d['k']}: {d['decided']}/{d['questions']} decided ({share})")
    return "\n".join(lines)


def _table(result: dict[str, Any], columns: tuple[str, ...]) -> str:
    rows = [(result.get("name", "default"), result)] + [(n, r) for n, r in result.get("modes", {}).items()]
    width = max(len(n) for n, _ in rows) + 2
    lines = ["mode".ljust(width) + "".join(c.rjust(13) for c in columns)]
    for name, r in rows:
        lines.append(name.ljust(width) + "".join(f"{r.get(c, float('nan')):>13.4g}" for c in columns))
    return "\n".join(lines)


def register(app: typer.Typer, eval_app: typer.Typer | None = None) -> None:
    """Add ``tune`` to the main app and ``beir`` / ``multihop`` / ``qa`` to the ``eval`` group."""
    app.command("tune")(tune)
    if eval_app is not None:
        eval_app.command("beir")(beir)
        eval_app.command("multihop")(multihop)
        eval_app.command("qa")(qa)
