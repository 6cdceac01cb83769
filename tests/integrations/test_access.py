"""The LangChain and LlamaIndex adapters read as the principal they were built with: every query of
the mixed fixture, every search mode, 0 forbidden chunks, names or citations, k results back."""
from __future__ import annotations

import pytest

from tests.access_fixture import PRINCIPALS, QUERIES, K, build, forbidden_for

MODES = ("lexical", "dense", "hybrid", "graph", "auto")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    kit, docs = build(tmp_path_factory.mktemp("adapters-access"))
    yield kit, docs
    kit.close()


@pytest.mark.parametrize("name", list(PRINCIPALS))
def test_langchain_retriever_and_ask(corpus, name):
    from ragkit.integrations.langchain import RagkitAsk, RagkitRetriever

    kit, docs = corpus
    who = PRINCIPALS[name]
    bad = forbidden_for(kit, docs, who)
    retriever = RagkitRetriever(kit=kit, k=K, principal=who)
    for mode in MODES:
        for query in QUERIES:
            found = retriever.invoke(query, mode=mode)
            assert not {d.metadata["chunk_id"] for d in found} & bad.chunks, (mode, query)
            bad.check([{"text": d.page_content, **d.metadata} for d in found], f"langchain {name} {mode} {query!r}")
            if mode in ("dense", "hybrid"):
                assert len(found) == K
    ask = RagkitAsk(kit=kit, principal=who)
    for query in QUERIES:
        out = ask.invoke(query)
        assert not {c["chunk_id"] for c in out["citations"]} & bad.chunks
        bad.check(out, f"langchain ask {name} {query!r}")
    follow = ask.invoke({"question": "Who got the bonus?", "history": [{"role": "user", "content": "Acme pay?"}]})
    bad.check(follow, f"langchain chat {name}")


@pytest.mark.parametrize("name", list(PRINCIPALS))
def test_llamaindex_retriever(corpus, name):
    from ragkit.integrations.llamaindex import RagkitRetriever

    kit, docs = corpus
    who = PRINCIPALS[name]
    bad = forbidden_for(kit, docs, who)
    for mode in MODES:
        retriever = RagkitRetriever(kit, k=K, mode=mode, principal=who)
        for query in QUERIES:
            nodes = retriever.retrieve(query)
            assert not {n.node.node_id for n in nodes} & bad.chunks, (mode, query)
            bad.check([{"text": n.node.get_content(), **n.node.metadata} for n in nodes], f"llamaindex {name} {mode}")
            if mode in ("dense", "hybrid"):
                assert len(nodes) == K


def test_a_client_where_cannot_widen_the_principal(corpus):
    from ragkit.access import AccessError
    from ragkit.integrations.langchain import RagkitRetriever

    kit, _ = corpus
    with pytest.raises(AccessError):
        RagkitRetriever(kit=kit, principal="").invoke("bonus", where={"@access": "hr"})


def test_an_adapter_without_a_principal_fails_closed(corpus):
    """No silent owner default: built without ``principal=``, every adapter refuses at construction and
    says what to pass; ``"*"`` is the explicit owner, ``""`` public only."""
    from pydantic import ValidationError

    from ragkit.integrations import langchain, llamaindex

    kit, _ = corpus
    for build in (lambda: langchain.RagkitRetriever(kit=kit), lambda: langchain.RagkitAsk(kit=kit),
                  lambda: langchain.RagkitRetriever(kit=kit, principal=None)):
        with pytest.raises(ValidationError, match=r'principal="" for public documents.*principal="\*"'):
            build()
    with pytest.raises(ValueError, match=r'principal="" for public documents.*principal="\*"'):
        llamaindex.RagkitRetriever(kit)
    with pytest.raises(ValueError, match="principal"):
        langchain.RagkitRetriever(path="/nonexistent/store")  # refused before any store is opened
    owner = langchain.RagkitRetriever(kit=kit, k=K, principal="*").invoke("Zebulon Quark bonus", mode="lexical")
    public = langchain.RagkitRetriever(kit=kit, k=K, principal="").invoke("Zebulon Quark bonus", mode="lexical")
    assert any("/hr/" in d.metadata["source"] for d in owner)
    assert not any("/hr/" in d.metadata["source"] for d in public)
