"""The answer pipeline end to end with a duck-typed Kit: extractive and openai (real HTTP) backends."""

from __future__ import annotations

import pytest
from tests.generation.fake_openai_server import FakeOpenAIServer
from tests.generation.gen_support import EIFFEL, DuckKit, eiffel_hits

from ragkit.config import Config, GeneratorConfig
from ragkit.generation import GeneratorError, make_generator
from ragkit.access import Scope
from ragkit.generation.chat import condense
from ragkit.generation.prompt import ABSTAIN_TEXT


@pytest.fixture
def kit(minilm_embedder):
    return DuckKit(eiffel_hits(), minilm_embedder)


@pytest.fixture
def server():
    with FakeOpenAIServer() as srv:
        yield srv


def openai_kit(minilm_embedder, server) -> DuckKit:
    config = Config(generator=GeneratorConfig(name="openai", model="m", base_url=server.base_url, max_retries=1))
    return DuckKit(eiffel_hits(), minilm_embedder, config)


def test_unknown_generator_lists_valid_names():
    with pytest.raises(ValueError, match="unknown generator 'gpt'; valid: extractive, local, openai, vllm"):
        make_generator(GeneratorConfig(), "gpt")


def test_extractive_answer_is_cited_and_verified(kit):
    answer = kit.answers.ask("When was the construction of the Eiffel Tower completed?")
    data = answer.to_dict()
    assert not data["abstained"] and data["grounded"] == 1.0
    assert any("1889" in s["text"] for s in data["sentences"])
    assert all(s["verified"] and s["citations"] for s in data["sentences"])
    cited = {n for s in data["sentences"] for n in s["citations"]}
    assert {c["n"] for c in data["citations"]} == cited  # only cited passages are listed
    c = next(c for c in data["citations"] if c["chunk_id"] == "c-eiffel")
    assert c["source"] == "landmarks/eiffel.md" and c["page"] == 2 and c["heading"] == "Landmarks > Paris"
    document = "x" * 100 + EIFFEL  # the chunk starts at offset 100 of its document
    assert document[c["span"][0] : c["span"][1]] == c["quote"]
    assert set(data) >= {"answer", "abstained", "sentences", "citations", "grounded"}


def test_extractive_abstains_without_support(kit):
    answer = kit.answers.ask("What is the boiling point of liquid nitrogen in kelvin?")
    assert answer.abstained and answer.answer == ABSTAIN_TEXT
    assert answer.citations == [] and answer.grounded == 0.0


def test_no_hits_abstains(minilm_embedder):
    answer = DuckKit([], minilm_embedder).answers.ask("Anything?")
    assert answer.abstained and answer.citations == []


def test_search_gets_k_and_where(kit):
    kit.answers.ask("How tall is the Eiffel Tower?", k=2, scope=Scope.of({"source_prefix": "landmarks/"}))
    assert kit.queries[-1] == {
        "query": "How tall is the Eiffel Tower?",
        "k": 2,
        "where": {"source_prefix": "landmarks/"},
    }


def test_openai_nonexistent_citation_is_dropped(minilm_embedder, server):
    kit = openai_kit(minilm_embedder, server)
    server.script.append(
        (
            "ok",
            "The Eiffel Tower construction was completed in 1889 [1][9]. "
            "Its summit is 3,776 metres above sea level [9].",
        )
    )
    data = kit.answers.ask("Tell me about the Eiffel Tower and Mount Fuji.").to_dict()
    assert data["sentences"][0]["citations"] == [1]
    assert 9 not in data["sentences"][1]["citations"]
    assert data["sentences"][1]["citations"] == [2]  # [9] dropped, attributed to the Fuji passage in code
    assert all(s["verified"] for s in data["sentences"])
    assert {c["n"] for c in data["citations"]} == {1, 2}
    assert "[9]" not in data["answer"]
    prompt = server.chat_requests()[0]["body"]["messages"][-1]["content"]
    assert "[1] Source: landmarks/eiffel.md" in prompt and "Question: Tell me about" in prompt


def test_openai_answer_without_markers_is_attributed(minilm_embedder, server):
    kit = openai_kit(minilm_embedder, server)
    server.script.append(
        (
            "ok",
            "The Eiffel Tower was designed by the company of Gustave Eiffel. "
            "Mount Fuji is the highest mountain in Japan.",
        )
    )
    data = kit.answers.ask("Who designed the Eiffel Tower?").to_dict()
    assert [s["citations"] for s in data["sentences"]] == [[1], [2]]
    assert data["grounded"] == 1.0


def test_openai_contradiction_is_flagged(minilm_embedder, server):
    kit = openai_kit(minilm_embedder, server)
    server.script.append(("ok", "Construction was completed in 1889 [1]. The tower is 450 metres tall [1]."))
    data = kit.answers.ask("When was it built and how tall is it?").to_dict()
    assert [s["verified"] for s in data["sentences"]] == [True, False]
    assert data["grounded"] == 0.5 and not data["abstained"]


def test_openai_unsupported_answer_abstains(minilm_embedder, server):
    kit = openai_kit(minilm_embedder, server)
    server.script.append(("ok", "Bananas grow best in Ecuador and Costa Rica [1]."))
    answer = kit.answers.ask("Where do bananas grow?")
    assert answer.abstained and answer.citations == []


def test_openai_model_abstention_is_recognized(minilm_embedder, server):
    kit = openai_kit(minilm_embedder, server)
    server.script.append(("ok", "I cannot answer this from the provided documents."))
    answer = kit.answers.ask("Who won the 1998 World Cup?")
    assert answer.abstained


def test_streaming_passes_tokens_through(minilm_embedder, server):
    kit = openai_kit(minilm_embedder, server)
    server.script.append(("stream", ["Construction was ", "completed in 1889 ", "[1]."]))
    pieces: list[str] = []
    answer = kit.answers.ask("When was it completed?", on_token=pieces.append)
    assert pieces == ["Construction was ", "completed in 1889 ", "[1]."]
    assert answer.sentences[0].verified and answer.sentences[0].citations == [1]


def test_generator_errors_propagate(minilm_embedder, server):
    kit = openai_kit(minilm_embedder, server)
    server.script += [("status", 500, "boom")] * 3
    with pytest.raises(GeneratorError, match="HTTP 500"):
        kit.answers.ask("When was it completed?")


def test_ask_many_records_a_failure_per_question(minilm_embedder):
    def answer(body):
        question = body["messages"][-1]["content"].rsplit("Question: ", 1)[-1]
        if "Bad" in question:
            return ("status", 400, "bad prompt")
        if "Japan" in question:
            return "Mount Fuji is the highest mountain in Japan."  # no marker: attributed in code
        return "Construction was completed in 1889 [1]."

    with FakeOpenAIServer(default_answer=answer) as srv:
        kit = openai_kit(minilm_embedder, srv)
        results = kit.answers.ask_many(["When was it completed?", "Bad one?", "Highest mountain in Japan?"])
    assert not isinstance(results[0], Exception) and results[0].sentences[0].verified
    assert isinstance(results[1], GeneratorError) and "bad prompt" in str(results[1])
    assert not isinstance(results[2], Exception)
    assert [c.chunk_id for c in results[2].citations] == ["c-fuji"]


def test_chat_condenses_follow_up_for_retrieval(kit):
    history = [
        {"role": "user", "content": "Tell me about the Eiffel Tower."},
        {"role": "assistant", "content": "It is a wrought-iron lattice tower in Paris [1]."},
    ]
    answer = kit.answers.chat(history, "When was it completed?")
    assert "Eiffel" in kit.queries[-1]["query"]
    assert any("1889" in s.text for s in answer.sentences)


def test_condense_rule():
    history = [{"role": "user", "content": "Who designed the Eiffel Tower?"}]
    assert condense([], "How tall is it?") == "How tall is it?"
    assert "Eiffel" in condense(history, "How tall is it?")
    standalone = "What is the highest mountain in Japan?"
    assert condense(history, standalone) == standalone


def test_chat_with_rewriting_generator(minilm_embedder, server):
    kit = openai_kit(minilm_embedder, server)
    server.script += [("ok", "When was the Eiffel Tower completed?"), ("ok", "Construction was completed in 1889 [1].")]
    kit.answers.chat([{"role": "user", "content": "Tell me about the Eiffel Tower."}], "When was it done?")
    assert kit.queries[-1]["query"] == "When was the Eiffel Tower completed?"
    last = server.chat_requests()[-1]["body"]["messages"]
    assert [m["role"] for m in last] == ["system", "user", "user"]  # history turn included before the question


def test_real_kit_end_to_end(tmp_path):
    """ragkit.open on a fresh store with two text files: cited spans point into the document text."""
    import ragkit

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tower.txt").write_text(
        "Landmarks of Paris\n\nThe Eiffel Tower is a wrought-iron lattice tower in Paris. "
        "Construction was completed in 1889 for the World's Fair. The tower is 330 metres tall.\n",
        encoding="utf-8",
    )
    (docs / "fuji.txt").write_text(
        "Mount Fuji is the highest mountain in Japan. Its summit is 3,776 metres above sea level.\n", encoding="utf-8"
    )
    kit = ragkit.open(tmp_path / "store")
    try:
        kit.index([str(docs)])
        answer = kit.ask("When was the construction of the Eiffel Tower completed?")
        assert not answer.abstained and answer.grounded > 0
        hits = {h.chunk.chunk_id: h.chunk for h in answer.hits}
        assert answer.citations
        for citation in answer.citations:
            chunk = hits[citation.chunk_id]
            text = kit.document_text(chunk.doc_id)
            assert text[citation.span[0] : citation.span[1]] == citation.quote
            assert citation.source.endswith(".txt")
        assert any("1889" in c.quote for c in answer.citations)
        follow = kit.chat([{"role": "user", "content": "Tell me about Mount Fuji."}], "How high is its summit?")
        assert any("3,776" in c.quote for c in follow.citations)
    finally:
        kit.close()
