"""The ingest's scan log: each file once, in scan order, on disk; and an ingest through it indexes a file
reached twice (a link to it inside the folder) once and deletes what vanished."""
from __future__ import annotations

import os
from pathlib import Path

from ragkit.ingest.scan import CHANGED, RELABELED, SKIPPED, UNCHANGED, ScanLog
from ragkit.kit import Kit


def test_scan_log_keeps_states_labels_and_the_changed_files_in_scan_order() -> None:
    scan = ScanLog()
    try:
        scan.add("/r/b.md", CHANGED, "/r", "d1", 10, (["team"], ["team"]), meta={"k": "v"})
        scan.add("/r/a.md", UNCHANGED)
        scan.add("/r/c.md", RELABELED)
        scan.add("/r/bad.md", SKIPPED)
        scan.add("/r/0.md", CHANGED, "/r", "d2", 20, path="/tmp/x/0.md")
        assert "/r/a.md" in scan and "/r/zzz.md" not in scan
        assert [scan.state(p) for p in ("/r/b.md", "/r/a.md", "/r/c.md", "/r/bad.md", "/r/nope")] == [
            CHANGED, UNCHANGED, RELABELED, SKIPPED, None]
        assert scan.labels("/r/b.md") == (["team"], ["team"])
        assert scan.rows == 5 and scan.changed == 2
        tasks = list(scan.tasks())
        assert [(t.source, t.path, t.digest, t.size, t.labels, t.meta, t.root) for t in tasks] == [
            ("/r/b.md", "/r/b.md", "d1", 10, ["team"], {"k": "v"}, "/r"),
            ("/r/0.md", "/tmp/x/0.md", "d2", 20, [], {}, "/r")]
    finally:
        scan.close()


def test_an_ingest_indexes_a_linked_file_once_and_deletes_vanished_ones(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "sub" / "a.md").write_text("Alpha text about proteins.\n")
    (docs / "b.txt").write_text("Beta text about cells.\n")
    os.symlink(docs / "sub" / "a.md", docs / "link.md")  # the same file a second way
    store = tmp_path / "store"
    store.mkdir()
    (store / "config.toml").write_text('[embedder]\nname = "hash"\n')
    kit = Kit(store)
    report = kit.index([docs])
    assert (report.added, report.updated, report.unchanged, report.deleted) == (2, 0, 0, 0)
    (docs / "b.txt").unlink()
    report = kit.index([docs])
    assert (report.added, report.updated, report.unchanged, report.deleted) == (0, 0, 1, 1)
    assert sorted(d["doc_id"] for d in kit.store.documents()) == [str((docs / "sub" / "a.md").resolve())]
