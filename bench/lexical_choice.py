"""Which incremental lexical index: ragkit's segmented bm25s index, SQLite FTS5, or tantivy?

    nice -n 10 .venv/bin/python bench/lexical_choice.py --size 100000 --json out.json

Same chunks for all three (pairs of real SciFact / HotpotQA sentences, as bench/scale.py builds them), the
same tokens (bm25s's: English stopwords, Snowball stemming; FTS5 and tantivy get them pre-tokenized,
space-joined, so tokenization is not what differs). For each: build time of N chunks, the time to commit
a change of 10 chunks (5 updated, 5 added) and 10 deleted, query p50/p95 over 100 real questions (top 10),
and how far its scores and top-10 lists are from a full bm25s rebuild over the same live chunks (the
reference ragkit's retrieval quality was measured with).
"""
from __future__ import annotations

import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

ROOT = harness.ROOT

from bench.scale import DATA, queries, sentences  # noqa: E402


def _p(xs: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(xs) * 1000, q)), 2)


def corpus(data: Path, n: int, seed: int = 1) -> tuple[list[str], list[str]]:
    sents = sentences(data)
    rng = np.random.default_rng(seed)
    pairs = rng.integers(0, len(sents), size=(n, 2))
    return [f"c{i}" for i in range(n)], [f"{sents[a]} {sents[b]}" for a, b in pairs]


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__, data=DATA)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args(argv)

    from ragkit.store import generations
    from ragkit.indexes.bm25 import Bm25Index

    ids, texts = corpus(args.data, args.size)
    extra_ids, extra_texts = corpus(args.data, 10, seed=2)
    new = {f"n{i}": t for i, t in enumerate(extra_texts[:5])}
    updated = {ids[i]: t for i, t in zip(range(5), extra_texts[5:])}
    deleted = ids[10:20]
    live = dict(zip(ids, texts))
    live.update(updated)
    live.update(new)
    for d in deleted:
        del live[d]
    qs = queries(args.data, args.queries)
    tok = Bm25Index()
    q_tokens = tok._tokenize(qs)
    work = Path(tempfile.mkdtemp(prefix="ragkit-lexchoice-"))
    report: dict = {"size": args.size, "queries": len(qs)}

    # the reference: a full bm25s rebuild over the live chunks
    t0 = time.perf_counter()
    ref = Bm25Index()
    ref.build(list(live), list(live.values()))
    report["bm25s_full_rebuild_s"] = round(time.perf_counter() - t0, 2)
    ref_top = ref.query_batch(qs, 10)

    def agreement(tops: list[list[tuple[str, float]]]) -> dict:
        overlap = [len({c for c, _ in a} & {c for c, _ in b}) / max(1, len(b)) for a, b in zip(tops, ref_top)]
        same = sum(1 for a, b in zip(tops, ref_top) if [c for c, _ in a] == [c for c, _ in b])
        err = [abs(x[1] - y[1]) for a, b in zip(tops, ref_top) for x, y in zip(a, b) if x[0] == y[0]]
        return {"top10_overlap": round(statistics.mean(overlap), 4), "identical_top10_lists": same,
                "max_abs_score_diff_same_id": round(max(err), 6) if err else None}

    # 1. ragkit's segmented index
    seg_dir = work / "segmented"
    t0 = time.perf_counter()
    index = generations.publish_full(seg_dir, 1, ids, texts)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = generations.publish_delta(seg_dir, 2, index, list(updated) + deleted, list(updated) + list(new),
                                      list(updated.values()) + list(new.values()))
    commit = time.perf_counter() - t0
    lat, tops = [], []
    for q in qs:
        s = time.perf_counter()
        tops.append(index.query(q, 10))
        lat.append(time.perf_counter() - s)
    report["segmented"] = {"build_s": round(built, 2), "commit_s": round(commit, 4), "p50_ms": _p(lat, 50),
                           "p95_ms": _p(lat, 95), **agreement(tops)}

    # 2. SQLite FTS5 (bm25(): Robertson IDF log((N-df+0.5)/(df+0.5)), not bm25s's lucene IDF)
    db = sqlite3.connect(work / "fts.sqlite", isolation_level=None)
    db.execute("CREATE VIRTUAL TABLE f USING fts5(cid UNINDEXED, body, tokenize='unicode61')")
    t0 = time.perf_counter()
    db.execute("BEGIN")
    db.executemany("INSERT INTO f(cid, body) VALUES (?, ?)", [(c, " ".join(t)) for c, t in zip(ids, tok._tokenize(texts))])
    db.execute("COMMIT")
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    db.execute("BEGIN")
    db.executemany("DELETE FROM f WHERE cid=?", [(c,) for c in list(updated) + deleted])
    changed = list(updated.items()) + list(new.items())
    db.executemany("INSERT INTO f(cid, body) VALUES (?, ?)",
                   [(c, " ".join(t)) for (c, _), t in zip(changed, tok._tokenize([t for _, t in changed]))])
    db.execute("COMMIT")
    commit = time.perf_counter() - t0
    lat, tops = [], []
    for toks in q_tokens:
        match = " OR ".join(f'"{t}"' for t in dict.fromkeys(toks) if t)
        s = time.perf_counter()
        rows = db.execute("SELECT cid, -bm25(f) FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT 10", (match,)).fetchall() if match else []
        lat.append(time.perf_counter() - s)
        tops.append([(c, float(v)) for c, v in rows])
    report["fts5"] = {"build_s": round(built, 2), "commit_s": round(commit, 4), "p50_ms": _p(lat, 50), "p95_ms": _p(lat, 95),
                      **agreement(tops), "note": "scores differ by construction (IDF formula)"}
    db.close()

    # 3. tantivy (Lucene's BM25; document lengths stored as 1-byte quantized field norms)
    try:
        import tantivy
    except ImportError:
        report["tantivy"] = {"error": "pip install tantivy (the bench extra)"}
    else:
        schema = tantivy.SchemaBuilder()
        schema.add_text_field("cid", stored=True, tokenizer_name="raw")
        schema.add_text_field("body", stored=False, tokenizer_name="whitespace")
        schema = schema.build()
        tdir = work / "tantivy"
        tdir.mkdir()
        tindex = tantivy.Index(schema, path=str(tdir))
        t0 = time.perf_counter()
        writer = tindex.writer(heap_size=200_000_000, num_threads=1)
        for c, t in zip(ids, tok._tokenize(texts)):
            writer.add_document(tantivy.Document(cid=c, body=" ".join(t)))
        writer.commit()
        writer.wait_merging_threads()
        built = time.perf_counter() - t0
        writer = tindex.writer(heap_size=50_000_000, num_threads=1)
        t0 = time.perf_counter()
        for c in list(updated) + deleted:
            writer.delete_documents_by_term("cid", c)
        for (c, _), t in zip(changed, tok._tokenize([t for _, t in changed])):
            writer.add_document(tantivy.Document(cid=c, body=" ".join(t)))
        writer.commit()
        commit = time.perf_counter() - t0
        writer.wait_merging_threads()
        tindex.reload()
        searcher = tindex.searcher()
        lat, tops = [], []
        for toks in q_tokens:
            terms = [t for t in toks if t]
            s = time.perf_counter()
            if terms:
                query = tantivy.Query.boolean_query(
                    [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", t)) for t in terms])
                hits = searcher.search(query, 10).hits
                top = [(searcher.doc(addr)["cid"][0], float(score)) for score, addr in hits]
            else:
                top = []
            lat.append(time.perf_counter() - s)
            tops.append(top)
        report["tantivy"] = {"build_s": round(built, 2), "commit_s": round(commit, 4), "p50_ms": _p(lat, 50),
                             "p95_ms": _p(lat, 95), **agreement(tops),
                             "note": "Lucene BM25 with quantized lengths; deleted docs still count in statistics until merged"}
    shutil.rmtree(work, ignore_errors=True)
    return harness.emit(report, args)


if __name__ == "__main__":
    sys.exit(main())
