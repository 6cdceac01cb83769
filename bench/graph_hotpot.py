"""HotpotQA with the graph: recall@2/@5 per file for lexical, dense, hybrid, graph and auto, and the
router's tuning grid on the raw-200 file only (the IRCoT-500 file stays untouched for reporting).

    python bench/graph_hotpot.py --store DIR [--tune] [--json OUT.json]

Both files' paragraphs are pooled into one store (as ``ragkit eval multihop`` does); the store is
built on first use and reused.
"""
from __future__ import annotations

import itertools
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

REPO = harness.ROOT
DATA = harness.SHARED_DATA / "hotpotqa_dev_subset"
FILES = [DATA / "hotpotqa_dev_distractor_raw200.jsonl", DATA / "hotpotqa_dev_ircot500.jsonl"]


def recall(rankings: list[list[str]], questions: list[Any], k: int) -> float:
    from ragkit.retrieval.metrics import recall_share

    return sum(recall_share(r, q.gold, k) for r, q in zip(rankings, questions)) / max(len(questions), 1)


def rankings(kit: Any, questions: list[Any], mode: str, settings: Any = None) -> list[list[str]]:
    from ragkit.eval.runner import DocMap, doc_rankings, variant

    svc = kit.retrieval
    if settings is not None and mode in ("auto", "graph"):
        svc.retriever(mode).settings = settings
    return doc_rankings(kit, [q.text for q in questions], variant(mode, kit.config.retrieval), DocMap(kit.store))


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--tune", action="store_true", help="grid over router settings on raw-200 only")
    parser.add_argument("--modes", default="lexical,dense,hybrid,graph,auto")
    args = parser.parse_args(argv)

    import ragkit
    from ragkit.eval.beir import index_corpus
    from ragkit.eval.multihop import load_multihop, paragraph_documents
    from ragkit.router import RouterSettings

    paragraphs, questions = load_multihop(FILES)
    kit = ragkit.open(args.store)
    indexed = index_corpus(kit, list(paragraph_documents(paragraphs)))
    by_file = {f.name: [q for q in questions if q.source == f.name and q.gold] for f in FILES}
    raw = by_file[FILES[0].name]
    report: dict[str, Any] = {"paragraphs": len(paragraphs), "index_seconds": indexed["index_seconds"],
                              "questions": {k: len(v) for k, v in by_file.items()}}
    if args.tune:
        grid = []
        base = RouterSettings()
        space = {"graph_weight": [0.2, 0.35, 0.5], "hop_seed": [0.5, 1.0], "trajectory_bonus": [0.0, 0.25, 0.5],
                 "hop_chunks": [3, 5]}
        for values in itertools.product(*space.values()):
            s = replace(base, **dict(zip(space, values)))
            r = rankings(kit, raw, "auto", s)
            grid.append({**dict(zip(space, values)), "recall@2": round(recall(r, raw, 2), 4),
                         "recall@5": round(recall(r, raw, 5), 4)})
            print(grid[-1], file=sys.stderr, flush=True)
        report["tune_raw200"] = sorted(grid, key=lambda g: (-g["recall@5"], -g["recall@2"]))
    else:
        for mode in args.modes.split(","):
            t0 = time.perf_counter()
            row: dict[str, Any] = {}
            all_ranked, all_q = [], []
            for name, qs in by_file.items():
                r = rankings(kit, qs, mode)
                all_ranked += r
                all_q += qs
                row[name] = {"recall@2": round(recall(r, qs, 2), 4), "recall@5": round(recall(r, qs, 5), 4)}
            row["pooled"] = {"recall@2": round(recall(all_ranked, all_q, 2), 4),
                             "recall@5": round(recall(all_ranked, all_q, 5), 4)}
            row["seconds"] = round(time.perf_counter() - t0, 1)
            report[mode] = row
            harness.log(f"{mode} {row}")
    kit.close()
    return harness.emit(report, args)


if __name__ == "__main__":
    sys.exit(main())
