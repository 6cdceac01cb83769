"""``LexicalIndex.coverage``: the share of a query's BM25 terms (after the index's own stopwords and
stemming) that some live chunk holds, on the index a real store serves, on the in-memory fallback, and
through tombstones (a term only in deleted chunks is not covered)."""
from __future__ import annotations

from pathlib import Path

from ragkit.indexes.bm25 import Bm25Index
from ragkit.indexes.segments import SegmentedIndex
from ragkit.store import generations
from tests.conftest import write_files

FILES = {
    "fox.txt": "The quick brown fox jumps over the lazy dog.",
    "river.txt": "Warsaw lies on the Vistula river.",
}
QUERIES = {
    "brown foxes jumping": 1.0,  # stemmed: brown, fox, jump
    "zzqx unknownword": 0.0,
    "the Vistula zzqx": 0.5,  # "the" is a stopword: vistula known, zzqx not
    "Rivers of the lazy qqqq": 2 / 3,
    "the of and": 1.0,  # no term left after stopwords: nothing BM25 could miss
    "": 1.0,
}


def test_coverage_of_the_index_a_real_store_serves(hash_kit, tmp_path: Path):
    hash_kit.index(write_files(tmp_path / "docs", FILES))
    served = hash_kit.store.lexical()
    assert isinstance(served, SegmentedIndex)
    fallback = hash_kit.store.build_lexical()
    for query, want in QUERIES.items():
        assert abs(served.coverage(query) - want) < 1e-12, query
        assert fallback.coverage(query) == served.coverage(query), query


def test_coverage_ignores_terms_only_in_deleted_chunks(tmp_path: Path):
    live = {f"c{i}": f"common words shared by every chunk number{i}" for i in range(12)}
    live["gone"] = "common xylophone"
    base = tmp_path / "lexical"
    index = generations.publish_full(base, 1, list(live), list(live.values()))
    assert index.coverage("xylophone common") == 1.0
    del live["gone"]
    index = generations.publish_delta(base, 2, index, ["gone"], [], [])
    assert any(alive is not None for _, alive in index.segments)  # a tombstone, not a rewrite
    assert index.coverage("xylophone common") == 0.5
    assert generations.load(base, 2).coverage("xylophone") == 0.0  # as read back from disk
    ref = Bm25Index()
    ref.build(list(live), list(live.values()))
    for query in ("xylophone", "common number3 zzz", "shared xylophone chunk"):
        assert index.coverage(query) == ref.coverage(query), query


def test_coverage_of_empty_indexes(tmp_path: Path):
    empty = Bm25Index()
    empty.build([], [])
    assert empty.coverage("anything") == 0.0 and empty.coverage("the") == 1.0
    segmented = generations.publish_full(tmp_path / "lexical", 1, [], [])
    assert segmented.coverage("anything") == 0.0 and segmented.coverage("the") == 1.0
