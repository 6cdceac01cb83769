"""Document access labels through every read path: for each principal, every query of the mixed
fixture through search (every mode), ask, chat, batch and the graph, with 0 chunks, document ids, entity
names, predicates or citations of a forbidden document, and k results whenever k readable ones exist."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragkit.access import AccessError, Principal, Scope, principal
from ragkit.router import MODES
from tests.access_fixture import (
    DOCS,
    PRINCIPALS,
    QUERIES,
    K,
    build,
    forbidden_for,
    labels_of,
)

SEARCH_MODES = ("lexical", "dense", "hybrid", "graph", "auto")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    kit, docs = build(tmp_path_factory.mktemp("access"))
    yield kit, docs
    kit.close()


def test_labels_come_from_rules_and_sidecars(corpus):
    kit, docs = corpus
    got = {Path(d["doc_id"]).relative_to(docs.resolve()).as_posix(): set(d["labels"]) for d in kit.documents()}
    from tests.access_fixture import DOC_LABELS

    assert got == DOC_LABELS
    assert all(not d["doc_id"].endswith((".labels", ".ragkit-labels")) for d in kit.documents())  # sidecars not indexed
    for d in kit.documents():  # chunks carry their document's labels
        assert all(set(c.labels) == set(d["labels"]) for c in kit.store.doc_chunks(d["doc_id"]))


@pytest.mark.parametrize("name", list(PRINCIPALS))
def test_search_every_mode_every_query(corpus, name):
    kit, docs = corpus
    who = PRINCIPALS[name]
    bad = forbidden_for(kit, docs, who)
    assert bad.chunks, "the fixture must hide something from every principal"
    leaked = {h.chunk.chunk_id for q in QUERIES for h in kit.search(q, k=K, mode="auto")} & bad.chunks
    assert leaked, "the owner finds the forbidden chunks for these queries: the checks below can fail"
    graph_hits = 0
    for mode in SEARCH_MODES:
        for query in QUERIES:
            hits = kit.search(query, k=K, mode=mode, principal=who)
            ids = {h.chunk.chunk_id for h in hits}
            graph_hits += sum(1 for h in hits if any(p.startswith("graph:") for p in h.paths))
            assert not ids & bad.chunks, (mode, query)
            assert not {h.chunk.doc_id for h in hits} & bad.docs, (mode, query)
            bad.check([h.to_dict() for h in hits], f"{name} {mode} {query!r}")
            # k results whenever k readable candidates exist: the owner's full list, readable part
            if mode in ("dense", "hybrid", "auto"):
                assert len(hits) == min(K, len(bad.readable_chunks)), (mode, query, len(hits))
            elif mode == "lexical":
                everything = kit.search(query, k=1000, mode="lexical")
                readable = [h for h in everything if h.chunk.chunk_id in bad.readable_chunks]
                assert len(hits) == min(K, len(readable)), (query, len(hits), len(readable))
                # the same scores as the owner's readable ones (ties may swap places)
                assert [round(h.score, 6) for h in hits] == [round(h.score, 6) for h in readable][: len(hits)]
    assert graph_hits, "graph retrieval must reach readable chunks"


def test_the_owner_and_star_read_everything(corpus):
    kit, _ = corpus
    for query in QUERIES:
        owner = [h.chunk.chunk_id for h in kit.search(query, k=K, mode="hybrid")]
        assert [h.chunk.chunk_id for h in kit.search(query, k=K, mode="hybrid", principal="*")] == owner
    everything = {h.chunk.doc_id for q in QUERIES for h in kit.search(q, k=50, mode="hybrid")}
    assert len(everything) == len(DOCS)


def test_search_batch_and_where_combine_with_the_principal(corpus):
    kit, docs = corpus
    bad = forbidden_for(kit, docs, "hr")
    for hits in kit.search_batch(QUERIES, k=K, mode="hybrid", principal="hr"):
        assert not {h.chunk.chunk_id for h in hits} & bad.chunks
    only = str((docs / "hr").resolve())
    hits = kit.search("bonus", k=K, mode="lexical", where={"source_prefix": only}, principal="legal")
    assert hits == []  # the filter keeps hr/ only, the principal reads none of it
    hits = kit.search("bonus", k=K, mode="lexical", where={"source_prefix": only}, principal="hr")
    assert hits and all(h.chunk.source.startswith(only) for h in hits)


@pytest.mark.parametrize("name", list(PRINCIPALS))
def test_ask_and_chat_cite_only_readable_chunks(corpus, name):
    kit, docs = corpus
    who = PRINCIPALS[name]
    bad = forbidden_for(kit, docs, who)
    for query in QUERIES:
        answer = kit.ask(query, principal=who)
        assert not {c.chunk_id for c in answer.citations} & bad.chunks, query
        assert not {h.chunk.chunk_id for h in answer.hits} & bad.chunks, query
        bad.check(answer.to_dict(), f"ask {name} {query!r}")
    answer = kit.chat([{"role": "user", "content": "Tell me about Acme Corporation"},
                       {"role": "assistant", "content": "It builds rockets."}], "Who got a bonus?", principal=who)
    assert not {c.chunk_id for c in answer.citations} & bad.chunks
    bad.check(answer.to_dict(), f"chat {name}")


@pytest.mark.parametrize("name", list(PRINCIPALS))
def test_batch_runs_as_one_principal(corpus, name, tmp_path: Path):
    kit, docs = corpus
    who = PRINCIPALS[name]
    bad = forbidden_for(kit, docs, who)
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps({"id": str(i), "question": q}) + "\n" for i, q in enumerate(QUERIES)))
    out = tmp_path / "answers.jsonl"
    from ragkit.batch import run_batch

    summary = run_batch(kit, None, questions, out, principal=who)
    assert summary["answered"] == len(QUERIES)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == len(QUERIES)
    for r in records:
        assert not {c["chunk_id"] for c in r["citations"]} & bad.chunks
        bad.check({k: v for k, v in r.items() if k != "question"}, f"batch {name} {r['question']!r}")


@pytest.mark.parametrize("name", list(PRINCIPALS))
def test_graph_commands_hide_what_only_forbidden_documents_support(corpus, name):
    kit, docs = corpus
    who = PRINCIPALS[name]
    bad = forbidden_for(kit, docs, who)
    graph = kit.graph
    entities = graph.entities(top=1000, principal=who)
    assert entities
    assert not {e["entity"] for e in entities} & bad.entity_keys
    bad.check(entities, f"entities {name}")
    stats = graph.stats(principal=who)
    owner = graph.stats()
    assert stats["entities"] == owner["entities"] - len(bad.entity_keys)
    assert stats["document_nodes"] == owner["document_nodes"] - len(bad.docs)
    for e in entities:
        data = graph.neighbors(e["name"], principal=who)
        bad.check(data, f"neighbors {name} {e['name']}")
        assert not {n["predicate"] for n in data["neighbors"]} & bad.predicates
    names = [e["name"] for e in entities]
    for a, b in zip(names, names[1:]):
        bad.check(graph.path(a, b, principal=who), f"path {name} {a} {b}")
    for fmt in ("json", "graphml"):
        bad.check_text(graph.export(format=fmt, principal=who), f"export {fmt} {name}")
    exported = json.loads(graph.export(format="json", principal=who))
    assert not {e.get("predicate") for e in exported["edges"]} & bad.predicates
    for secret in bad.entity_keys:  # a hidden entity is not found by name either
        with pytest.raises(KeyError):
            graph.neighbors(secret, principal=who)
    assert graph.entity_chunks("Acme Corporation", principal=who)
    assert not set(graph.entity_chunks("Acme Corporation", principal=who)) & bad.chunks


def test_router_explanations_never_name_hidden_entities(corpus):
    kit, docs = corpus
    for name, who in PRINCIPALS.items():
        bad = forbidden_for(kit, docs, who)
        for query in QUERIES:
            for mode in ("graph", "auto"):
                hits = kit.search(query, k=K, mode=mode, principal=who)
                for h in hits:
                    for p in h.paths:
                        bad.check_text(p, f"path {name} {query!r}")
                auto = kit.retrieval.retriever(mode)
                for plan in auto.last_plans:
                    assert not {e for e, _, _ in plan.entities} & bad.entity_keys, (name, query)


def test_a_merge_into_a_hidden_canonical_keeps_the_hidden_name_hidden(tmp_path: Path):
    kit, _docs = build(tmp_path)
    try:
        kit.graph.merge_names("Project Falcon", "Zebulon Quark")  # canonical name only in hr documents
        public = kit.graph.entities(top=1000, principal="")
        text = json.dumps(public) + kit.graph.export(principal="")
        assert "Zebulon" not in text and "zebulon" not in text
        assert "Project Falcon" in [e["name"] for e in public]
        for query in ("Project Falcon", "Tell me about Project Falcon in Berlin"):
            for h in kit.search(query, k=K, mode="auto", principal=""):
                assert "Zebulon" not in " ".join(h.paths) and "Quark" not in h.chunk.text
        hr = {e["name"] for e in kit.graph.entities(top=1000, principal="hr")}
        assert "Zebulon Quark" in hr
    finally:
        kit.close()


def test_principal_parsing_and_scoping():
    assert principal(None) is None
    assert principal("") == Principal()
    assert principal("hr, legal") == principal(["legal", "hr"]) == Principal(frozenset({"hr", "legal"}))
    assert principal("*").everything
    with pytest.raises(AccessError, match="invalid label"):
        principal("h r")
    assert Scope.of({"kind": "table"}, None) == Scope((("kind", "table"),), None)
    assert Scope.of(None, "").principal == Principal() and Scope.of(None, "").key() == (("@principal", ""),)
    assert Scope.of(None, "*").unrestricted and Scope.of(None, "*").key() is None  # "*" reads everything
    assert Scope.of({"b": 1, "a": "x"}).key() == (("a", "x"), ("b", "1"))  # order-independent, hashable
    assert Scope.of(Scope.of({"kind": "table"}), "hr").principal == Principal(frozenset({"hr"}))
    with pytest.raises(AccessError, match="reserved"):
        Scope.of({"@access": "hr"}, "")  # a filter can never carry a principal
    assert Principal(frozenset({"hr"})).can_read([]) and Principal(frozenset({"hr"})).can_read(["hr", "x"])
    assert not Principal(frozenset({"hr"})).can_read(["legal"])
    assert set(MODES) <= set(SEARCH_MODES)
    assert labels_of(["a", "b"]) == {"a", "b"}
