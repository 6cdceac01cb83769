"""The retrieval evaluation matrix in one run: SciFact (all modes, tuned on train, optional reranker),
held-out robustness sets (SciFact with typo-degraded queries: a weak lexical side; SciFact over a
feature-hashing embedder: a weak dense side) and HotpotQA pooled (recall@2/@5, nDCG@10).

    .venv/bin/python bench/retrieval.py --scifact-store /tmp/scifact-store --hotpot-store /tmp/hotpot-store \\
        [--rerank nanoranker] [--json results.json]

Stores are reused when given (the corpus is added incrementally: unchanged documents are skipped).
"""
from __future__ import annotations

import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

ROOT = harness.ROOT
DATA = harness.SHARED_DATA
COLUMNS = ("lexical", "dense", "rrf", "cc", "cc-zscore", "hybrid", "tuned")


log = harness.log


def typo(query: str, rate: float, rng: random.Random) -> str:
    """One random edit (swap, drop or insert a letter) in each word of 4+ letters with probability ``rate``."""
    words = []
    for w in query.split():
        if len(w) >= 4 and rng.random() < rate:
            i = rng.randrange(1, len(w) - 1)
            op = rng.choice("sdi")
            w = w[:i] + w[i + 1] + w[i] + w[i + 2 :] if op == "s" else w[:i] + w[i + 1 :] if op == "d" else w[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz") + w[i:]
        words.append(w)
    return " ".join(words)


def typo_dataset(src: Path, dst: Path, rate: float, seed: int = 0) -> Path:
    """A copy of a BEIR dataset whose queries carry typos (corpus and qrels linked unchanged)."""
    dst.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for name in ("corpus.jsonl", "corpus.jsonl.gz"):
        if (src / name).exists() and not (dst / name).exists():
            (dst / name).symlink_to((src / name).resolve())
    if not (dst / "qrels").exists():
        (dst / "qrels").symlink_to((src / "qrels").resolve())
    with (src / "queries.jsonl").open(encoding="utf-8") as fh, (dst / "queries.jsonl").open("w", encoding="utf-8") as out:
        for line in fh:
            row = json.loads(line)
            row["text"] = typo(row["text"], rate, rng)
            out.write(json.dumps(row) + "\n")
    return dst


def beir_run(store: Path, dataset: Path, config: Any = None, **kwargs: Any) -> dict[str, Any]:
    import ragkit
    from ragkit.eval.beir import BeirDataset, evaluate_beir, index_corpus

    kit = ragkit.open(store, config)
    ds = BeirDataset(dataset)
    indexed = index_corpus(kit, list(ds.documents()))
    t0 = time.perf_counter()
    result = evaluate_beir(kit, ds, compare=list(COLUMNS), **kwargs)
    result.update(indexed, eval_seconds=round(time.perf_counter() - t0, 1))
    kit.close()
    return result


def multihop_run(store: Path, files: list[Path]) -> dict[str, Any]:
    import ragkit
    from ragkit.eval.beir import index_corpus
    from ragkit.eval.multihop import evaluate_multihop, load_multihop, paragraph_documents

    paragraphs, questions = load_multihop(files)
    kit = ragkit.open(store)
    indexed = index_corpus(kit, list(paragraph_documents(paragraphs)))
    result = evaluate_multihop(kit, questions, compare=[c for c in COLUMNS if c != "tuned"])
    result.update(indexed, paragraphs=len(paragraphs))
    kit.close()
    return result


def one_side_weak(store: Path, dataset: Path, rate: float = 0.6, seed: int = 0) -> dict[str, Any]:
    """nDCG@10 when only one retriever sees degraded queries (typos in ``rate`` of the words) and the
    other the clean ones: a held-out setting where one side is much weaker than the other.

    Candidates come from the store's retrievers; each fusion is applied to the same candidate lists.
    """
    from dataclasses import replace

    import ragkit
    from ragkit.eval.beir import BeirDataset
    from ragkit.retrieval.metrics import ndcg_at_k
    from ragkit.retrieval.hybrid import fuse_pair

    kit = ragkit.open(store)
    queries, qrels = BeirDataset(dataset).split_queries("test")
    qids = list(queries)
    rng = random.Random(seed)
    clean = [queries[q] for q in qids]
    noisy = [typo(t, rate, rng) for t in clean]
    svc = kit.retrieval
    lex, den = svc.retriever("lexical"), svc.retriever("dense")
    depth = kit.config.retrieval.depth
    lists = {
        ("clean", "lexical"): lex.candidates(clean, depth), ("noisy", "lexical"): lex.candidates(noisy, depth),
        ("clean", "dense"): den.candidates(clean, depth), ("noisy", "dense"): den.candidates(noisy, depth),
    }
    ids = {c for ranked in lists.values() for row_ in ranked for c, _ in row_}
    doc_of = {c.chunk_id: c.doc_id for c in kit.store.chunks(list(ids))}
    base = kit.config.retrieval
    fusions = {
        "rrf": replace(base, fusion="rrf"),
        "cc": replace(base, fusion="cc", normalization="minmax", weight=0.5),
        "cc-zscore": replace(base, fusion="cc", normalization="zscore", weight=0.5),
        "hybrid": base,
    }

    def ndcg(ranked_lists: list[list[str]]) -> float:
        scores = [ndcg_at_k(list(dict.fromkeys(doc_of.get(c, c) for c in r)), qrels[q]) for r, q in zip(ranked_lists, qids)]
        return round(sum(scores) / len(scores), 4)

    out: dict[str, Any] = {}
    for weak in ("lexical", "dense", "both"):
        lx = lists[("noisy" if weak in ("lexical", "both") else "clean", "lexical")]
        dn = lists[("noisy" if weak in ("dense", "both") else "clean", "dense")]
        result = {"lexical": ndcg([[c for c, _ in r] for r in lx]), "dense": ndcg([[c for c, _ in r] for r in dn])}
        for name, config in fusions.items():
            result[name] = ndcg([[f.id for f in fuse_pair(a, b, config)] for a, b in zip(lx, dn)])
        out[f"typos {rate:.0%}, {weak} side(s)"] = result
    kit.close()
    return out


def row(result: dict[str, Any], metric: str) -> dict[str, Any]:
    modes = {result["name"]: result, **result.get("modes", {})}
    return {m: modes[m].get(metric) for m in modes}


def main(argv: list[str] | None = None) -> int:
    from ragkit.config import Config

    parser = harness.parser(__doc__)
    parser.add_argument("--scifact", type=Path, default=DATA / "scifact")
    parser.add_argument("--hotpot", type=Path, nargs="*", default=sorted((DATA / "hotpotqa_dev_subset").glob("*.jsonl")))
    parser.add_argument("--scifact-store", type=Path, default=Path("/tmp/scifact-store"))
    parser.add_argument("--hash-store", type=Path, default=Path("/tmp/scifact-hash-store"))
    parser.add_argument("--hotpot-store", type=Path, default=Path("/tmp/hotpot-store"))
    parser.add_argument("--rerank", default=None, help="nanoranker | cross-encoder (reported as hybrid+rerank)")
    parser.add_argument("--skip", default="", help="Comma-separated parts to skip: scifact,typo,weak,hash,hotpot")
    args = parser.parse_args(argv)
    skip = set(args.skip.split(","))

    out: dict[str, Any] = {}
    tmp = Path(tempfile.mkdtemp(prefix="ragkit-bench-"))
    try:
        if "scifact" not in skip:
            log("SciFact test (tuned on train)")
            config = None
            if args.rerank:
                config = Config.load(args.scifact_store)
                config.reranker.name = args.rerank
            out["scifact"] = beir_run(args.scifact_store, args.scifact, config, tune_split="train", rerank=bool(args.rerank))
        if "typo" not in skip:
            for rate in (0.3, 0.6):
                log(f"SciFact, typos in {rate:.0%} of query words (weak lexical side)")
                ds = typo_dataset(args.scifact, tmp / f"scifact-typo{rate}", rate)
                out[f"scifact-typo{rate}"] = beir_run(args.scifact_store, ds)
        if "weak" not in skip:
            log("SciFact, one side (or both) sees typo-degraded queries, the other clean ones")
            out["one-side-weak"] = {**one_side_weak(args.scifact_store, args.scifact, 0.6),
                                    **one_side_weak(args.scifact_store, args.scifact, 0.3)}
        if "hash" not in skip:
            log("SciFact over a 64-d feature-hashing embedder (weak dense side)")
            config = Config()
            config.embedder.name = "hash"
            out["scifact-hash-dense"] = beir_run(args.hash_store, args.scifact, config)
        if "hotpot" not in skip and args.hotpot:
            log("HotpotQA pooled")
            out["hotpotqa"] = multihop_run(args.hotpot_store, args.hotpot)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    lines = ["dataset".ljust(22) + "".join(c.rjust(9) for c in COLUMNS)]
    for name, result in out.items():
        if name == "one-side-weak":
            for label, values in result.items():
                lines.append(label[:21].ljust(22) + "".join(f"{values[c]:9.4f}" if c in values else " " * 9 for c in COLUMNS))
            continue
        metric = "recall@5" if name == "hotpotqa" else "ndcg@10"
        values = row(result, metric)
        lines.append(f"{name} {metric}".ljust(22) + "".join(f"{values[c]:9.4f}" if values.get(c) is not None else " " * 9 for c in COLUMNS))
    log("\n".join(lines))
    return harness.emit(out, args)


if __name__ == "__main__":
    sys.exit(main())
