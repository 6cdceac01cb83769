"""Graph rows follow their documents: change or delete a document and its entities and edges go,
unless another document still supports them; the graph always matches the manifest."""
from __future__ import annotations

from pathlib import Path

import pytest

from graphs.store import check_consistency
from tests.conftest import write_files
from tests.graphs.conftest import entity_keys, graph_config, relation_edges, rows

A = "Marie Curie worked with Pierre Curie in Paris.\n\nMarie Curie discovered Polonium in Warsaw."
B = "Albert Einstein visited Marie Curie in Paris.\n\nAlbert Einstein lectured at Princeton."


def test_structure_nodes_and_provenance(graph_kit, tmp_path: Path):
    docs = write_files(tmp_path / "docs", {
        "guide.md": "# Guide\n\nIntro text.\n\n## Install\n\nRun the installer. See Section 2.\n\n## Usage\n\n"
                    "Open the app.\n\n| Name | Port |\n|---|---|\n| Alpha | 80 |\n| Beta | 443 |\n",
        "page.html": "<html><head><title>Links</title></head><body><h1>Links</h1><p>Read the "
                     "<a href='guide.md'>guide</a> first.</p></body></html>",
    })
    graph_kit.index(docs)
    kinds = dict(rows(graph_kit, "SELECT kind, COUNT(*) FROM graph_nodes GROUP BY kind"))
    assert kinds["document"] == 2 and kinds["section"] >= 3 and kinds["table"] == 1 and kinds["row"] == 2
    edge_kinds = {r[0] for r in rows(graph_kit, "SELECT DISTINCT kind FROM graph_edges")}
    assert {"contains", "next", "links"} <= edge_kinds
    guide = str((docs / "guide.md").resolve())
    link = rows(graph_kit, "SELECT src, dst, chunk_id FROM graph_edges WHERE kind='links' AND dst=?", f"doc:{guide}")
    assert link and link[0][2] is not None  # the html page links to the guide, supported by a chunk
    xref = rows(graph_kit, "SELECT dst FROM graph_edges WHERE kind='links' AND src LIKE 'chunk:%'")
    assert any(r[0].startswith("sec:") for r in xref)  # "See Section 2" points at a section
    keys = entity_keys(graph_kit)
    assert {"guide", "install", "alpha", "beta", "name", "port"} <= keys  # title, heading, row keys, columns
    assert check_consistency(graph_kit.store.db) == []
    # every edge and mention carries a committed chunk of its document
    assert not rows(graph_kit, "SELECT 1 FROM graph_mentions m JOIN chunks c USING(chunk_id) WHERE c.doc_id != m.doc_id")


def test_delete_and_change_remove_provenance_but_keep_shared_entities(graph_kit, tmp_path: Path):
    docs = write_files(tmp_path / "docs", {"a.txt": A, "b.txt": B})
    graph_kit.index(docs)
    keys = entity_keys(graph_kit)
    assert {"marie curie", "pierre curie", "albert einstein", "polonium", "princeton"} <= keys
    assert ("ent:marie curie", "ent:pierre curie") in relation_edges(graph_kit)

    (docs / "a.txt").unlink()  # delete: a's own entities go, the shared one stays (b mentions it)
    graph_kit.index(docs)
    keys = entity_keys(graph_kit)
    assert "marie curie" in keys and "paris" in keys
    assert "pierre curie" not in keys and "polonium" not in keys and "warsaw" not in keys
    assert ("ent:marie curie", "ent:pierre curie") not in relation_edges(graph_kit)
    supporting = {r[0] for r in rows(graph_kit, "SELECT doc_id FROM graph_mentions WHERE entity_id='marie curie'")}
    assert supporting == {str((docs / "b.txt").resolve())}
    assert check_consistency(graph_kit.store.db) == []

    (docs / "b.txt").write_text("Niels Bohr lectured in Copenhagen.")  # change: old provenance replaced
    graph_kit.index(docs)
    keys = entity_keys(graph_kit)
    assert "marie curie" not in keys and "albert einstein" not in keys and "niels bohr" in keys
    assert relation_edges(graph_kit) == {("ent:niels bohr", "ent:copenhagen")}
    assert check_consistency(graph_kit.store.db) == []


def test_edge_supported_by_two_documents_survives_one_deletion(graph_kit, tmp_path: Path):
    same = "Ada Lovelace worked with Charles Babbage in London."
    docs = write_files(tmp_path / "docs", {"a.txt": same, "b.txt": same + "\n\nMore text here."})
    graph_kit.index(docs)
    babbage = "SELECT predicate, doc_id FROM graph_edges WHERE src='ent:ada lovelace' AND dst='ent:charles babbage'"
    assert len(rows(graph_kit, babbage)) == 2
    (docs / "a.txt").unlink()
    graph_kit.index(docs)
    assert rows(graph_kit, babbage) == [("worked with", str((docs / "b.txt").resolve()))]


def test_graph_off_in_config(tmp_path: Path):
    import ragkit

    config = graph_config()
    config.graph.enabled = False
    kit = ragkit.open(tmp_path / "s", config)
    kit.index(write_files(tmp_path / "docs", {"a.txt": A}))
    assert rows(kit, "SELECT COUNT(*) FROM graph_nodes")[0][0] == 0
    assert not kit.graph.available()
    assert kit.search("Marie Curie", k=2, mode="auto")  # auto falls back to text retrieval
    kit.close()


def test_graph_reloads_after_reindex(graph_kit, tmp_path: Path):
    docs = write_files(tmp_path / "docs", {"a.txt": A})
    graph_kit.index(docs)
    assert graph_kit.graph.index.entity("Polonium") == "polonium"
    (docs / "a.txt").write_text("Niels Bohr lectured in Copenhagen.")
    graph_kit.index(docs)
    assert graph_kit.graph.index.entity("Polonium") is None
    assert graph_kit.graph.index.entity("Niels Bohr") == "niels bohr"


def test_rebuild_matches_incremental(graph_kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from tests.graphs.consistency import graph_rows

    graph_kit.index(write_files(tmp_path / "docs", {"a.txt": A, "b.txt": B}))
    before = graph_rows(graph_kit.store.db)
    graph_kit.graph.rebuild()
    assert graph_rows(graph_kit.store.db) == before
    monkeypatch.setattr("ragkit.kit.graph.REBUILD_PAGE", 1)  # one document per step: the same graph
    steps: list[tuple[str, int, int | None]] = []
    assert graph_kit.graph.rebuild(progress=lambda *a: steps.append(a))["documents"] == 2
    assert graph_rows(graph_kit.store.db) == before and steps == [("graph", 1, 2), ("graph", 2, 2)]
    graph_kit.config.graph.extractor = "none"  # structure only
    graph_kit.graph.rebuild()
    assert "marie curie" not in entity_keys(graph_kit)  # named entities go, structure stays
    assert rows(graph_kit, "SELECT COUNT(*) FROM graph_nodes WHERE kind='document'")[0][0] == 2
    assert check_consistency(graph_kit.store.db) == []


def test_chunk_mentions_feed_short_answers(graph_kit, tmp_path: Path):
    graph_kit.index(write_files(tmp_path / "docs", {"a.md": A}))
    chunk_ids = [r[0] for r in rows(graph_kit, "SELECT chunk_id FROM chunks ORDER BY ordinal")]
    found = graph_kit.graph.mentions(chunk_ids)
    surfaces = {s for ms in found.values() for s, _ in ms}
    assert {"Marie Curie", "Polonium", "Warsaw"} <= surfaces
    assert set(found) <= set(chunk_ids)
    answer = graph_kit.ask("Where did Marie Curie discover Polonium?")
    assert answer.short is not None and answer.short.text == "Warsaw" and answer.short.verified
