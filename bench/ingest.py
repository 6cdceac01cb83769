"""Ingest throughput on SciFact: ragkit vs the embedding alone (the compute floor) vs llama-index.

Each variant runs in its own subprocess (fresh memory, model loaded and warmed before the clock
starts), in alternating order over several rounds; prints one JSON document with the median and
spread of each. Usage:

    python bench/ingest.py [DATA_DIR] [--limit N] [--rounds 3] [--variants ragkit,embed,llamaindex]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "scifact"
# ragkit: default chunking (every token of every document embedded, chunks within the model's window);
# ragkit-1024: chunks of up to 1,024 tokens like llama-index's default SentenceSplitter, so the model
# truncates them to its 256-token window exactly as llama-index does (the same embedding work);
# embed: the embedding alone of ragkit's default chunks (the compute floor); llamaindex: its default.
VARIANTS = ("ragkit", "ragkit-1024", "embed", "llamaindex")


def load_corpus(data: Path, limit: int | None) -> list[dict[str, str]]:
    path = data / "corpus.jsonl.gz"
    opener = gzip.open if path.exists() else open
    path = path if path.exists() else data / "corpus.jsonl"
    docs = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                docs.append(json.loads(line))
                if limit and len(docs) >= limit:
                    break
    return docs


def to_documents(records: list[dict[str, str]]):
    from connectors.base import DocumentBuilder

    docs = []
    for r in records:
        b = DocumentBuilder()
        b.add(r.get("title", ""), "text")
        b.add(r.get("text", ""), "text")
        docs.append(b.build(source=r["_id"], data=(r.get("title", "") + r.get("text", "")).encode(), format="text",
                            metadata={"title": r.get("title", "")}))
    return docs


def run_variant(variant: str, data: Path, limit: int | None) -> dict[str, float]:
    """Runs inside the child process."""
    import ragkit
    from ragkit.embedding import MiniLMEmbedder
    from ragkit.ingest import embed_text

    records = load_corpus(data, limit)
    docs = to_documents(records)
    embedder = MiniLMEmbedder()
    embedder.embed(["warm up the model"])
    n_chunks = 0
    with tempfile.TemporaryDirectory() as tmp:
        if variant in ("ragkit", "ragkit-1024"):
            config = ragkit.Config()
            if variant == "ragkit-1024":
                config.chunking.max_tokens, config.chunking.overlap_tokens = 1024, 0
            kit = ragkit.open(Path(tmp) / "store", config)
            kit.embedder = embedder
            started = time.perf_counter()
            report = kit.add_documents(docs)
            seconds = time.perf_counter() - started
            n_chunks = report.chunks
        elif variant == "embed":
            kit = ragkit.open(Path(tmp) / "store")
            kit.embedder = embedder
            chunker = kit.chunker()
            texts = [embed_text(c) for d in docs for c in chunker.run(d)]
            n_chunks = len(texts)
            started = time.perf_counter()
            embedder.embed(texts)
            seconds = time.perf_counter() - started
        elif variant == "llamaindex":
            seconds, n_chunks = _llamaindex(records, embedder)
        else:
            raise ValueError(f"unknown variant {variant!r}; valid: {', '.join(VARIANTS)}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "docs": len(docs), "chunks": n_chunks, "peak_mb": peak_mb}


def _llamaindex(records: list[dict[str, str]], embedder) -> tuple[float, int]:
    from llama_index.core import Document, Settings, VectorStoreIndex
    from llama_index.core.embeddings import BaseEmbedding

    class MiniLM(BaseEmbedding):
        """The same sentence-transformers model, wrapped as a llama-index embedding."""

        def _get_query_embedding(self, query: str) -> list[float]:
            return embedder.embed([query])[0].tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return embedder.embed([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed(texts).tolist()

    Settings.embed_model = MiniLM(embed_batch_size=64)
    Settings.llm = None
    documents = [Document(text=f"{r.get('title', '')}\n\n{r.get('text', '')}", doc_id=r["_id"]) for r in records]
    started = time.perf_counter()
    index = VectorStoreIndex.from_documents(documents, show_progress=False)
    seconds = time.perf_counter() - started
    return seconds, len(index.docstore.docs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None, help="first N documents only")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_variant(args.child, args.data, args.limit)))
        return 0
    variants = args.variants.split(",")
    results: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
    for round_no in range(args.rounds):
        order = variants[round_no % len(variants) :] + variants[: round_no % len(variants)]
        for variant in order:
            cmd = [sys.executable, __file__, str(args.data), "--child", variant]
            if args.limit:
                cmd += ["--limit", str(args.limit)]
            env = dict(os.environ, PYTHONPATH=str(REPO))
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
            result = json.loads(out.strip().splitlines()[-1])
            results[variant].append(result)
            print(f"round {round_no + 1} {variant}: {result}", file=sys.stderr)
    summary: dict[str, object] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "rounds": args.rounds,
        "limit": args.limit,
    }
    for variant, runs in results.items():
        secs = [r["seconds"] for r in runs]
        med = statistics.median(secs)
        summary[variant] = {
            "seconds_median": round(med, 2),
            "seconds_min": round(min(secs), 2),
            "seconds_max": round(max(secs), 2),
            "docs": runs[0]["docs"],
            "chunks": runs[0]["chunks"],
            "docs_per_s": round(runs[0]["docs"] / med, 2),
            "chunks_per_s": round(runs[0]["chunks"] / med, 2),
            "peak_mb": round(max(r["peak_mb"] for r in runs)),
        }
    if "ragkit" in results and "embed" in results:
        summary["ragkit_over_embed"] = round(summary["ragkit"]["seconds_median"] / summary["embed"]["seconds_median"], 3)
    for variant in ("ragkit", "ragkit-1024"):
        if variant in results and "llamaindex" in results:
            summary[f"{variant}_over_llamaindex"] = round(
                summary[variant]["seconds_median"] / summary["llamaindex"]["seconds_median"], 3
            )
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
