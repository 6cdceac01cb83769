"""Embedding speed by batch size and batching order, on ragkit's default chunks of SciFact abstracts.

"token-buckets": ragkit's embedder (each batch holds texts adjacent in token-length order);
"st-sorted": one sentence-transformers ``encode`` call, which sorts by character length. Settings run
in rotated order each round; prints one JSON document with the median seconds of each and the ratio to
ragkit's default (token buckets of 16). Usage:

    python bench/embed_batches.py [DATA_DIR] [--limit 150] [--rounds 3] [--sizes 8,16,32,64]
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402
from bench.ingest import DEFAULT_DATA, load_corpus, to_documents  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__, data=DEFAULT_DATA, positional_data=True, full_doc=True)
    parser.add_argument("--limit", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="8,16,32,64")
    args = parser.parse_args(argv)

    from ragkit.embedding import MiniLMEmbedder

    docs = to_documents(load_corpus(args.data, args.limit))
    embedder = MiniLMEmbedder()
    with harness.temp_kit() as kit:
        kit.embedder = embedder
        chunker = kit.chunker()
        texts = [chunker.embed_text(c) for d in docs for c in chunker.run(d)]  # what the ingest embeds
    embedder.embed(["warm up the model"])

    def run(order: str, size: int) -> float:
        started = time.perf_counter()
        if order == "token-buckets":
            embedder.batch_size = size
            embedder.embed(texts)
        else:
            embedder.model.encode(texts, batch_size=size, normalize_embeddings=True, show_progress_bar=False)
        return time.perf_counter() - started

    settings = [(o, int(s)) for s in args.sizes.split(",") for o in ("token-buckets", "st-sorted")]
    times: dict[str, list[float]] = {f"{o}/{s}": [] for o, s in settings}
    for round_no in range(args.rounds):
        shift = round_no % len(settings)
        for order, size in settings[shift:] + settings[:shift]:
            times[f"{order}/{size}"].append(run(order, size))
            harness.log(f"round {round_no + 1} {order}/{size}: {times[f'{order}/{size}'][-1]:.2f}s")
    medians = {k: statistics.median(v) for k, v in times.items()}
    base = medians.get("token-buckets/16") or min(medians.values())
    return harness.emit({
        "texts": len(texts),
        "rounds": args.rounds,
        "seconds_median": {k: round(v, 2) for k, v in medians.items()},
        "over_default": {k: round(v / base, 3) for k, v in medians.items()},
    }, args)


if __name__ == "__main__":
    sys.exit(main())
