"""Markdown hyperlinks become ``links`` edges between the indexed documents they join."""
from __future__ import annotations

from pathlib import Path

from graphs.store import check_consistency
from tests.conftest import write_files
from tests.graphs.conftest import rows


def test_relative_markdown_links_join_indexed_documents(graph_kit, tmp_path: Path):
    docs = write_files(tmp_path / "docs", {
        "index.md": "# Home\n\nWelcome to the project.\n\n## Next steps\n\nRead the [setup guide](guides/setup%20guide.md#linux) "
                    "and the [changelog](https://example.org/changes).\n",
        "guides/setup guide.md": "# Setup\n\nInstall it. Back to the [home page](../index.md).\n",
    })
    graph_kit.index(docs)
    home, setup = str((docs / "index.md").resolve()), str((docs / "guides" / "setup guide.md").resolve())
    links = rows(graph_kit, "SELECT src, dst, predicate, chunk_id FROM graph_edges WHERE kind='links' AND src LIKE 'doc:%'")
    by_pair = {(src, dst): (predicate, chunk) for src, dst, predicate, chunk in links}
    assert set(by_pair) == {(f"doc:{home}", f"doc:{setup}"), (f"doc:{setup}", f"doc:{home}")}  # no edge to the web
    predicate, chunk = by_pair[(f"doc:{home}", f"doc:{setup}")]
    assert predicate == "setup guide"
    held = graph_kit.store.chunks([chunk])[0]
    assert "[setup guide](" in held.text and held.heading_path[-1] == "Next steps"  # the chunk that holds the link
    assert check_consistency(graph_kit.store.db) == []
    # the router follows them: which documents link to the setup guide
    hits = graph_kit.search("which documents link to the setup guide", mode="auto", k=3)
    assert hits and any(p.startswith("graph:links to") for p in hits[0].paths) and hits[0].chunk.doc_id == home
    # deleting the linking document removes its edges
    (docs / "index.md").unlink()
    graph_kit.index(docs)
    assert not rows(graph_kit, "SELECT 1 FROM graph_edges WHERE kind='links' AND src=?", f"doc:{home}")
