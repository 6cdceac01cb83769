"""The segmented lexical index scores exactly like a full bm25s rebuild over the live chunks, through
random adds, updates, deletes and merges, and its on-disk generations are published atomically."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from ragkit.indexes.bm25 import Bm25Index
from ragkit.indexes.segments import SegmentedIndex
from ragkit.store import Store, generations

WORDS = ("protein cell gene mutation cancer tumor receptor binding pathway signal immune response virus "
         "infection vaccine dose trial patient outcome risk heart brain neuron memory sleep diet obesity "
         "insulin glucose liver kidney lung smoking alcohol exercise running runner runs ran").split()
STOP = "the a of and in is was to for with on by".split()


def _text(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.04:
        return ""  # no tokens at all
    if kind < 0.08:
        return " ".join(rng.choices(STOP, k=5))  # only stopwords
    n = rng.randint(1, 40)
    return " ".join(rng.choice(WORDS) if rng.random() < 0.8 else rng.choice(STOP) for _ in range(n)).capitalize() + "."


def _assert_same(index: SegmentedIndex, live: dict[str, str], queries: list[str]) -> None:
    ids = sorted(live)
    ref = Bm25Index()
    ref.build(ids, [live[i] for i in ids])
    assert sorted(index.ids) == ids
    assert list(index.iter_sorted_ids(block=7)) == list(index.iter_sorted_ids()) == ids  # streamed, every segment
    assert index.n_live == len(ids)
    pos = {cid: r for r, cid in enumerate(index.ids)}
    for tokens in Bm25Index()._tokenize(queries):
        want = ref.scores(tokens)
        got = index.scores(tokens)[index.live_rows]
        mine = np.array([got[pos[cid]] for cid in ids], dtype=np.float32)
        assert mine.dtype == want.dtype == np.float32
        assert np.array_equal(mine, want), (tokens, np.max(np.abs(mine - want)))
    for k in (1, 5, 20):
        assert index.query_batch(queries, k) == ref.query_batch(queries, k)
    # a mask over the live ids restricts the rows exactly as it does in bm25s
    keep = {cid for cid in ids if hash(cid) % 3}
    mask_mine = np.array([cid in keep for cid in index.ids], dtype=np.float32)
    mask_ref = np.array([cid in keep for cid in ids], dtype=np.float32)
    assert index.query_batch(queries, 10, mask=mask_mine) == ref.query_batch(queries, 10, mask=mask_ref)


def test_incremental_scores_equal_a_full_rebuild_through_adds_updates_deletes_and_merges(tmp_path: Path):
    rng = random.Random(5)
    base = tmp_path / "lexical"
    live = {f"c{i}": _text(rng) for i in range(200)}
    ids = list(live)
    index = generations.publish_full(base, 1, ids, [live[i] for i in ids])
    queries = [" ".join(rng.choices(WORDS + STOP, k=rng.randint(1, 8))) for _ in range(25)] + ["the of", "runner"]
    _assert_same(index, live, queries)
    merges = 0
    next_id = 200
    for gen in range(2, 60):
        removed: list[str] = []
        added: dict[str, str] = {}
        for _ in range(rng.choice([1, 1, 2, 5, 30])):
            action = rng.random()
            if action < 0.45 or len(live) < 20:
                added[f"c{next_id}"] = _text(rng)
                next_id += 1
            elif action < 0.75:  # an update keeps the chunk id with a new text
                cid = rng.choice(sorted(live))
                removed.append(cid)
                added[cid] = _text(rng)
            else:
                cid = rng.choice(sorted(set(live) - set(added)))
                removed.append(cid)
                del live[cid]
        live.update(added)

        def count() -> None:
            nonlocal merges
            merges += 1

        # what a reader builds in memory before the publish scores the same
        _assert_same(generations.overlay(index, gen, removed, list(added), list(added.values())), live, queries)
        index = generations.publish_delta(base, gen, index, removed, list(added), list(added.values()), count)
        _assert_same(index, live, queries)
        reopened = generations.load(base, gen)  # a fresh reader sees the same generation
        assert reopened is not None and reopened.query_batch(queries, 10) == index.query_batch(queries, 10)
        state = generations.read_state(base)
        on_disk = {p.name for p in base.iterdir()}
        named = {"CURRENT"} | {s["name"] for s in state["segments"]} | {s["deleted"] for s in state["segments"] if s["deleted"]}
        assert on_disk == named  # nothing left behind by earlier generations
    assert merges >= 10
    assert len(generations.read_state(base)["segments"]) <= 8


def test_deleting_everything_and_starting_again(tmp_path: Path):
    base = tmp_path / "lexical"
    index = generations.publish_full(base, 1, ["a", "b"], ["heart attack risk", "sleep and memory"])
    index = generations.publish_delta(base, 2, index, ["a", "b"], [], [])
    assert index.ids == [] and index.query("heart", 5) == []
    index = generations.publish_delta(base, 3, index, [], ["c"], ["heart rate"])
    assert [cid for cid, _ in index.query("heart", 5)] == ["c"]
    assert generations.load(base, 2) is None and generations.load(base, 3) is not None


def test_an_older_format_or_a_torn_pointer_reads_as_unpublished(tmp_path: Path):
    base = tmp_path / "lexical"
    base.mkdir()
    (base / "CURRENT").write_text("gen-4")  # the one-folder-per-generation format
    assert generations.read_state(base) is None and not generations.is_published(base, 4)
    generations.publish_full(base, 5, ["x"], ["kidney"])
    assert generations.is_published(base, 5) and generations.current_name(base) == "gen-5"
    (base / "CURRENT").write_text('{"format": 2, "gener')
    assert generations.load(base, 5) is None


def _indexed_kit(tmp_path: Path, files: int, paragraphs: int, seed: int):
    """(a Kit on a fresh hash-embedder store with ``files`` generated text files indexed, the folder)."""
    import ragkit
    from tests.conftest import hash_config

    rng = random.Random(seed)
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(files):
        (docs / f"d{i}.txt").write_text("\n\n".join(_text(rng) or "heart" for _ in range(paragraphs)))
    kit = ragkit.open(tmp_path / "store", hash_config())
    kit.index(docs)
    return kit, docs


def test_a_one_file_commit_through_the_kit_writes_only_its_own_segment(tmp_path: Path):
    """Index 40 files, then add, update and delete one: the big segment is never rewritten (the commit
    is O(changed)), and lexical search equals a full bm25s build over the committed chunks."""
    kit, docs = _indexed_kit(tmp_path, 40, 6, seed=3)
    base = tmp_path / "store" / "lexical"
    big = generations.read_state(base)["segments"][0]["name"]
    one = docs / "new.txt"
    for step in ("add", "update", "delete"):
        if step == "add":
            one.write_text("Runner heart risk in smoking patients.\n\nSleep and memory.")
        elif step == "update":
            one.write_text("Glucose and insulin in the liver.")
        else:
            one.unlink()
        kit.index(docs)
        state = generations.read_state(base)
        assert state["segments"][0]["name"] == big and len(state["segments"]) >= 1
        assert state["generation"] == kit.store.generation
        ref = kit.store.build_lexical()
        index = kit.store.lexical()
        assert isinstance(index, SegmentedIndex) and sorted(index.ids) == sorted(ref.ids)
        qs = ["runner heart risk", "glucose insulin liver", "sleep memory", "protein"]
        assert index.query_batch(qs, 10) == ref.query_batch(qs, 10)
    kit.close()


def _reference_merge(path: Path, parts) -> None:
    """The in-memory merge that :mod:`ragkit.indexes.segment_merge` replaced (every term, id and
    posting of the inputs loaded at once): the oracle of the streamed one's bytes."""
    from ragkit.indexes.segments import _write_postings

    terms_all: set[bytes] = set()
    seg_terms = []
    for seg, _ in parts:
        t = [seg.terms[i] for i in range(len(seg.terms))]
        seg_terms.append(t)
        terms_all.update(t)
    terms = sorted(terms_all)
    index = {t: i for i, t in enumerate(terms)}
    ids, lens, key_parts, tf_parts = [], [], [], []
    base = 0
    live_counts = [int(seg.rows if alive is None else alive.sum()) for seg, alive in parts]
    n = max(sum(live_counts), 1)
    for (seg, alive), t, live in zip(parts, seg_terms, live_counts):
        newrow = np.arange(seg.rows, dtype=np.int64) if alive is None else np.cumsum(alive, dtype=np.int64) - 1
        term_map = np.fromiter((index[x] for x in t), dtype=np.int64, count=len(t))
        post_term = np.repeat(term_map, np.diff(np.asarray(seg.indptr, dtype=np.int64)))
        docs, tfs = np.asarray(seg.docs, dtype=np.int64), np.asarray(seg.tfs)
        if alive is not None:
            keep = alive[docs]
            post_term, docs, tfs = post_term[keep], docs[keep], tfs[keep]
        key_parts.append(post_term * n + newrow[docs] + base)
        tf_parts.append(tfs)
        rows = np.arange(seg.rows) if alive is None else np.flatnonzero(alive)
        ids.extend(seg.ids[int(r)].decode("utf-8") for r in rows)
        lens.append(np.asarray(seg.lens)[rows])
        base += live
    keys = np.concatenate(key_parts)
    order = np.argsort(keys, kind="stable")
    _write_postings(path, ids, terms, keys[order], np.concatenate(tf_parts)[order],
                    np.concatenate(lens).astype(np.int32), sorted_unique=True)


def test_the_streamed_merge_writes_the_bytes_of_the_in_memory_merge_in_small_blocks(tmp_path: Path, monkeypatch):
    """Merging in blocks of a few postings and rows (many blocks per segment), with tombstones, empty
    rows, terms whose postings are all deleted and non-ASCII ids, gives the same files byte for byte."""
    from ragkit.indexes import segment_merge
    from ragkit.indexes.segments import Segment

    rng = random.Random(11)
    tokenize = Bm25Index()._tokenize
    parts = []
    for s, size in enumerate((57, 1, 230, 40)):
        ids = [f"s{s}-ü{rng.randint(0, 10**9)}-{i}" for i in range(size)]
        texts = [_text(rng) for _ in ids]
        texts[0] = f"unique{s} word{s}"  # terms that die with this row below
        Segment.write(tmp_path / f"in{s}", ids, tokenize(texts))
        seg = Segment(tmp_path / f"in{s}")
        alive = None
        if s != 1:
            alive = np.array([rng.random() < 0.7 for _ in ids])
            alive[0] = False
        parts.append((seg, alive))
    for block_postings, block_rows in ((1 << 18, 1 << 15), (7, 3), (1, 1)):
        monkeypatch.setattr(segment_merge, "BLOCK_POSTINGS", block_postings)
        monkeypatch.setattr(segment_merge, "BLOCK_ROWS", block_rows)
        for chosen in (parts, parts[1:2], parts[2:]):
            want, got = tmp_path / "want", tmp_path / "got"
            _reference_merge(want, chosen)
            segment_merge.merge_segments(got, chosen)
            names = sorted(p.name for p in want.iterdir())
            assert names == sorted(p.name for p in got.iterdir())
            for name in names:
                assert (want / name).read_bytes() == (got / name).read_bytes(), (block_postings, name)
            merged = Segment(got)
            assert merged.rows == sum(int(seg.rows if a is None else a.sum()) for seg, a in chosen)
            import shutil

            shutil.rmtree(want)
            shutil.rmtree(got)


def test_a_commit_whose_publish_was_lost_is_caught_up_by_its_change_alone(tmp_path: Path):
    """A crash between the manifest commit and the lexical publish (here: an exception at the start
    of the lexical phase) leaves an older generation published. The next writer, or `check --repair`,
    reads the change from the manifest and publishes it as a delta: the big segment is not rewritten,
    and the index equals a full bm25s build over the committed chunks."""
    import ragkit
    from tests.conftest import hash_config

    kit, docs = _indexed_kit(tmp_path, 40, 6, seed=11)
    base = tmp_path / "store" / "lexical"
    big = generations.read_state(base)["segments"][0]["name"]
    before = set(kit.store.lexical().ids)

    class Crash(Exception):
        pass

    def crash_at_lexical(phase: str) -> None:
        if phase == "lexical":
            raise Crash

    qs = ["runner heart risk", "glucose insulin liver", "sleep memory", "protein", "the of"]
    for round_, repair in enumerate((False, True)):
        (docs / f"new{round_}.txt").write_text("Runner heart risk in smoking patients.\n\nSleep and memory.")
        (docs / f"d{round_}.txt").write_text("Glucose and insulin in the liver.")
        (docs / f"d{10 + round_}.txt").unlink()
        try:
            kit.index(docs, on_phase=crash_at_lexical)
        except Crash:
            pass
        kit.close()
        kit = ragkit.open(tmp_path / "store", hash_config())  # a new process: no change kept in memory
        store = kit.store
        assert not store.lexical_published()
        old = generations.load(base, int(generations.read_state(base)["generation"]))
        removed, added = store.lexical_diff(old)
        committed = set(store.all_chunk_ids())
        # a reader meanwhile sees the committed generation, caught up in memory, and writes nothing
        listing = sorted(p.name for p in base.iterdir())
        reader = Store(tmp_path / "store")
        seen = reader.lexical()
        assert isinstance(seen, SegmentedIndex) and sorted(seen.ids) == sorted(committed)
        assert seen.query_batch(qs, 10) == store.build_lexical().query_batch(qs, 10)
        assert sorted(p.name for p in base.iterdir()) == listing
        reader.close()
        assert set(removed) == before - committed and set(added) == committed - before
        assert removed and added and removed == sorted(removed) and added == sorted(added)
        if repair:
            report = kit.check(repair=True)
            assert f"brought the lexical index up to generation {store.generation}" in report.repaired
        else:
            assert store.save_lexical() == "delta"
        state = generations.read_state(base)
        assert state["generation"] == store.generation and state["segments"][0]["name"] == big
        ref = store.build_lexical()
        index = store.lexical()
        assert isinstance(index, SegmentedIndex) and sorted(index.ids) == sorted(ref.ids) == sorted(committed)
        assert index.query_batch(qs, 10) == ref.query_batch(qs, 10)
        assert kit.check().ok
        before = committed
    assert store.save_lexical() == "current" and store.save_lexical(force=True) == "full"
    kit.close()


def test_a_reader_pinned_before_a_publish_keeps_its_own_generation(tmp_path: Path):
    """A reader's snapshot pinned at generation G while another writer commits and publishes G+1:
    its lexical index is G's (the published G+1 taken back by the difference), never a mix."""
    kit, docs = _indexed_kit(tmp_path, 30, 5, seed=13)
    base = tmp_path / "store" / "lexical"
    qs = ["runner heart risk", "glucose insulin liver", "sleep memory", "protein"]
    reader = Store(tmp_path / "store")
    with reader.snapshot() as gen:
        ids = set(reader.all_chunk_ids())
        reference = reader.build_lexical()
        (docs / "new.txt").write_text("Glucose and insulin in the liver of runners.")
        (docs / "d3.txt").unlink()
        kit.index(docs)  # another writer commits and publishes
        assert generations.read_state(base)["generation"] > gen
        seen = reader.lexical()
        assert isinstance(seen, SegmentedIndex) and set(seen.ids) == ids
        assert seen.query_batch(qs, 10) == reference.query_batch(qs, 10)
    assert set(reader.lexical().ids) == set(kit.store.all_chunk_ids()) != ids  # outside: the newest
    reader.close()
    kit.close()
