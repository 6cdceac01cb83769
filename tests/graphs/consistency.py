"""Exact graph check for the durability test: the committed graph rows equal a fresh extraction of
the committed documents and chunks, and nothing else is there."""
from __future__ import annotations

from collections import Counter

from graphs.build import GraphBuilder
from graphs.store import check_consistency


def graph_rows(db) -> dict[str, Counter]:
    return {
        "nodes": Counter(db.execute("SELECT node_id, doc_id, kind, name FROM graph_nodes").fetchall()),
        "edges": Counter(db.execute("SELECT src, dst, kind, predicate, chunk_id, doc_id FROM graph_edges").fetchall()),
        "mentions": Counter(db.execute("SELECT chunk_id, entity_id, doc_id FROM graph_mentions").fetchall()),
        "entities": Counter(r[0] for r in db.execute("SELECT entity_id FROM graph_entities")),
    }


def expected_graph(store) -> dict[str, Counter]:
    """The graph rows a fresh extraction of the committed documents and chunks gives."""
    items = [(store.document(d["doc_id"]), store.doc_chunks(d["doc_id"])) for d in store.documents()]
    extractions = GraphBuilder(store.config.graph).run(items) or {}
    expected: dict[str, Counter] = {"nodes": Counter(), "edges": Counter(), "mentions": Counter(), "entities": Counter()}
    for doc_id, ex in extractions.items():
        expected["nodes"].update((n.node_id, doc_id, n.kind, n.name) for n in ex.nodes)
        expected["edges"].update((e.src, e.dst, e.kind, e.predicate, e.chunk_id, doc_id) for e in ex.edges)
        expected["mentions"].update({(m.chunk_id, m.key, doc_id) for m in ex.mentions})
    expected["entities"] = Counter({k for _, k, _ in expected["mentions"]})
    return expected


def assert_graph_exact(store) -> None:
    """The store's graph is exactly what its committed documents give (no stale or missing rows)."""
    assert check_consistency(store.db) == []
    expected = expected_graph(store)
    actual = graph_rows(store.db)
    for part in expected:
        assert actual[part] == expected[part], f"graph {part} differ from a fresh extraction"
