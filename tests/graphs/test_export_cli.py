"""Graph export round-trips (GraphML and node-link JSON), and the ``ragkit graph`` commands' contract."""
from __future__ import annotations

import json
from pathlib import Path

import networkx as nx

from tests.conftest import write_files
from tests.test_cli import _run
from tests.graphs.conftest import graph_config

DOCS = {
    "a.txt": "Marie Curie worked with Pierre Curie in Paris.",
    "b.md": "# Guide\n\n## Install\n\nSee a.txt for Marie Curie.\n\n| Name | Port |\n|---|---|\n| Alpha | 80 |\n| Beta | 443 |\n",
}


def test_export_round_trip(graph_kit, tmp_path: Path):
    graph_kit.index(write_files(tmp_path / "docs", DOCS))
    g = graph_kit.graph.index.nx
    graph_kit.graph.export(tmp_path / "g.json", "json")
    back = nx.node_link_graph(json.loads((tmp_path / "g.json").read_text()), edges="edges")
    graph_kit.graph.export(tmp_path / "g.graphml", "graphml")
    back2 = nx.read_graphml(tmp_path / "g.graphml")
    for other in (back, back2):
        assert set(other.nodes) == set(g.nodes)
        assert sorted((u, v, d["kind"]) for u, v, d in other.edges(data=True)) == sorted(
            (u, v, d["kind"]) for u, v, d in g.edges(data=True))
    assert back.nodes["ent:marie curie"]["name"] == "Marie Curie"


def test_graph_commands_json(tmp_path: Path):
    import ragkit

    ragkit.open(tmp_path / "s", graph_config()).close()
    docs = write_files(tmp_path / "docs", DOCS)
    assert _run("index", str(docs), "--store", str(tmp_path / "s"), "--quiet", cwd=tmp_path).returncode == 0
    store = ["--store", str(tmp_path / "s"), "--json", "--quiet"]
    stats = json.loads(_run("graph", "stats", *store, cwd=tmp_path).stdout)
    assert stats["consistent"] and stats["document_nodes"] == 2 and stats["edges"]["links"] >= 1
    top = json.loads(_run("graph", "entities", "--top", "3", *store, cwd=tmp_path).stdout)
    assert len(top) == 3 and top[0]["name"] == "Guide" and top[0]["chunks"] >= top[1]["chunks"]
    near = json.loads(_run("graph", "neighbors", "Pierre Curie", *store, cwd=tmp_path).stdout)
    assert any(n["name"] == "Marie Curie" and n["predicate"] == "worked with" for n in near["neighbors"])
    path = json.loads(_run("graph", "path", "Pierre Curie", "Alpha", *store, cwd=tmp_path).stdout)
    assert path["found"] and path["nodes"][0] == "ent:pierre curie" and path["nodes"][-1] == "ent:alpha"
    out = json.loads(_run("graph", "export", "--format", "graphml", "-o", str(tmp_path / "g.graphml"), *store,
                          cwd=tmp_path).stdout)
    assert out["nodes"] == nx.read_graphml(tmp_path / "g.graphml").number_of_nodes()
    hits = json.loads(_run("search", "Marie Curie", "--mode", "auto", "-k", "2", *store, cwd=tmp_path).stdout)
    assert hits and all("paths" in h for h in hits)
    missing = _run("graph", "neighbors", "Nobody", *store, cwd=tmp_path)
    assert missing.returncode == 1 and "no entity" in missing.stderr
