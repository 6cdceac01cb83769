"""Question → retrieval → prompt → generator → citations → verification → :class:`Answer`.

``ask`` and ``chat`` take a Kit (anything with ``config``, ``embedder`` and ``search``); ``answer_hits``
does the work from hits and needs no Kit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ragkit.config import GeneratorConfig
from ragkit.generation.citations import (
    ANSWER_SCHEMA,
    JSON_INSTRUCTION,
    make_citation,
    parse_structured,
    split_answer,
    with_markers,
)
from ragkit.generation.prompt import ABSTAIN_TEXT, SYSTEM_PROMPT, Prompt, approx_tokens, build_prompt, source_label
from ragkit.generation.sentences import STOPWORDS, content_terms, tokens
from ragkit.generation.verify import EmbedCache, Passage, Verifier
from ragkit.types import Answer, Hit, Sentence

_ABSTAIN = re.compile(
    r"\b(cannot|can ?not|can't|unable to|not able to) (answer|determine)\b"
    r"|\b(context|passages?|documents?|sources?|provided (text|information))\b[^.]{0,40}?\b(does|do|did) not "
    r"(contain|mention|provide|say|include|specify|answer|state)\b"
    r"|\bnot (enough|sufficient) (information|context)\b|\bno (relevant )?information (about|on|regarding)\b"
    r"|\bi (do not|don't) know\b",
    re.IGNORECASE,
)
_ANAPHORA = {
    "it",
    "its",
    "they",
    "them",
    "their",
    "he",
    "him",
    "his",
    "she",
    "her",
    "this",
    "that",
    "these",
    "those",
    "there",
    "then",
    "one",
    "ones",
    "former",
    "latter",
    "same",
    "also",
    "else",
}
_FILLER = {
    "tell",
    "explain",
    "describe",
    "show",
    "give",
    "please",
    "know",
    "want",
    "like",
    "me",
    "us",
    "can",
    "could",
    "would",
    "something",
    "anything",
    "thing",
    "things",
    "info",
    "information",
    "details",
}
HISTORY_TURNS = 6


@dataclass
class _Resources:
    """Per-Kit generators and embedding cache (so a local model loads once per Kit)."""

    embed: EmbedCache
    generators: dict[str, Any] = field(default_factory=dict)


def _resources(kit: Any) -> _Resources:
    """Cached on the Kit with ``kit.service`` when it has one, else as an attribute."""
    if hasattr(kit, "service"):
        return kit.service("generation", lambda: _Resources(embed=EmbedCache(kit.embedder)))
    res = getattr(kit, "_ragkit_generation", None)
    if res is None:
        res = _Resources(embed=EmbedCache(kit.embedder))
        try:
            kit._ragkit_generation = res
        except AttributeError:  # no caching possible
            pass
    return res


def generator_for(kit: Any, name: str | None = None) -> Any:
    """The Kit's generator called ``name`` (default: config), built once per Kit."""
    from ragkit.generation import make_generator

    config: GeneratorConfig = kit.config.generator
    key = name or config.name
    res = _resources(kit)
    if key not in res.generators:
        res.generators[key] = make_generator(config, key, embedder=res.embed)
    return res.generators[key]


def is_abstention(text: str) -> bool:
    """Whether a sentence (or short answer) says the context does not answer the question."""
    return bool(_ABSTAIN.search(text))


# -- the core -------------------------------------------------------------------------------------------
def make_prompt(
    question: str,
    hits: list[Hit],
    gen: Any,
    config: GeneratorConfig,
    *,
    count_tokens: Callable[[str], int] | None = None,
    history: list[dict[str, str]] | None = None,
) -> Prompt:
    """The prompt for ``gen``: its own token counter if it has one, and its context limit if smaller."""
    counter = getattr(gen, "count_tokens", None) or count_tokens or approx_tokens
    context = min(config.context_tokens, getattr(gen, "context_limit", config.context_tokens) or config.context_tokens)
    system = SYSTEM_PROMPT + ("\n" + JSON_INSTRUCTION if getattr(gen, "structured", False) else "")
    return build_prompt(
        question,
        hits,
        count_tokens=counter,
        context_tokens=context,
        max_tokens=_max_tokens(gen, config),
        history=history,
        system=system,
    )


def _max_tokens(gen: Any, config: GeneratorConfig) -> int:
    cap = getattr(gen, "max_tokens_cap", None)
    return min(config.max_tokens, cap) if cap else config.max_tokens


def finish(prompt: Prompt, text: str, verifier: Verifier, generator: str = "") -> Answer:
    """Turn generated ``text`` into a verified, cited Answer for ``prompt``."""
    hits = [b.hit for b in prompt.blocks]
    drafts = parse_structured(text)
    if drafts is None:
        drafts = split_answer(text)
    claims = [d for d in drafts if not is_abstention(d.text)]
    if not prompt.blocks or not claims:
        return abstain(generator, hits)
    passages = {b.n: Passage(b.n, b.text, label=source_label(b.chunk)) for b in prompt.blocks}
    verifier.prefetch(list(passages.values()), [d.text for d in claims])
    sentences: list[Sentence] = []
    quotes: dict[int, list[tuple[int, int]]] = {}
    for draft in drafts:
        if is_abstention(draft.text):
            sentences.append(Sentence(text=draft.text, citations=[], verified=False, score=0.0))
            continue
        cited = [n for n in draft.cited if n in passages]  # ids not in the context are dropped
        if not cited:
            cited = verifier.attribute(draft.text, list(passages.values()))
        support = verifier.support(draft.text, [passages[n] for n in cited])
        for n in cited:
            quotes.setdefault(n, []).extend(support.quotes.get(n, []))
        sentences.append(
            Sentence(text=draft.text, citations=cited, verified=support.verified, score=round(support.score, 4))
        )
    claim_sentences = [s for s in sentences if not is_abstention(s.text)]
    verified = sum(s.verified for s in claim_sentences)
    if verified == 0:
        return abstain(generator, hits)
    citations = [make_citation(prompt.block(n), spans) for n, spans in sorted(quotes.items())]  # type: ignore[arg-type]
    return Answer(
        answer=" ".join(with_markers(s.text, s.citations) for s in sentences),
        sentences=sentences,
        citations=citations,
        abstained=False,
        grounded=round(verified / len(claim_sentences), 4),
        generator=generator,
        hits=hits,
    )


def abstain(generator: str = "", hits: list[Hit] | None = None) -> Answer:
    """The answer when the context supports none: ``abstained`` and no citations."""
    return Answer(answer=ABSTAIN_TEXT, abstained=True, grounded=0.0, generator=generator, hits=list(hits or []))


def answer_hits(
    question: str,
    hits: list[Hit],
    gen: Any,
    config: GeneratorConfig,
    embed: Any,
    *,
    history: list[dict[str, str]] | None = None,
    on_token: Callable[[str], None] | None = None,
    count_tokens: Callable[[str], int] | None = None,
) -> Answer:
    """Answer ``question`` from ``hits`` with ``gen``; ``embed`` is an embedder or an EmbedCache."""
    cache = embed if isinstance(embed, EmbedCache) else EmbedCache(embed)
    if not hits:
        return abstain(gen.name)
    prompt = make_prompt(question, hits, gen, config, count_tokens=count_tokens or _counter(cache), history=history)
    max_tokens = _max_tokens(gen, config)
    if on_token is not None:
        pieces: list[str] = []
        for piece in gen.stream(prompt.messages, max_tokens):
            pieces.append(piece)
            on_token(piece)
        text = "".join(pieces)
    elif getattr(gen, "structured", False):
        text = gen.generate(prompt.messages, max_tokens, json_schema=ANSWER_SCHEMA)
    else:
        text = gen.generate(prompt.messages, max_tokens)
    return finish(prompt, text, Verifier(cache), gen.name)


def _counter(cache: EmbedCache) -> Callable[[str], int] | None:
    count = getattr(cache.embedder, "count_tokens", None)
    if count is None:
        return None

    def safe(text: str) -> int:
        try:
            return int(count(text))
        except Exception:  # noqa: BLE001 - a tokenizer hiccup must not fail the answer
            return approx_tokens(text)

    return safe


# -- Kit entry points ------------------------------------------------------------------------------------------
def ask(
    kit: Any,
    question: str,
    *,
    generator: str | None = None,
    where: dict | None = None,
    k: int | None = None,
    on_token: Callable[[str], None] | None = None,
    history: list[dict[str, str]] | None = None,
) -> Answer:
    """Retrieve for ``question``, generate, cite and verify."""
    gen = generator_for(kit, generator)
    hits = retrieve(kit, question, k, where)
    res = _resources(kit)
    return answer_hits(question, hits, gen, kit.config.generator, res.embed, history=history, on_token=on_token)


def retrieve(kit: Any, query: str, k: int | None, where: dict | None) -> list[Hit]:
    """The passages an answer is written from: the search hits plus the graph's evidence (both hops of
    a multi-hop question), read from one committed generation (``Store.read_consistent``). ``ask`` and
    every turn of ``chat`` retrieve through here, so a follow-up retrieves as a first question does."""

    def run(generation: int | None = None) -> list[Hit]:
        hits = kit.search(query, k=k or kit.config.retrieval.k, where=where)
        if hasattr(kit, "graph"):
            from ragkit.generation.evidence import graph_evidence

            hits = graph_evidence(kit, query, hits, where)
            for hit in hits:
                hit.generation = generation if generation is not None else hit.generation
        return hits

    store = getattr(kit, "store", None)
    return store.read_consistent(run) if hasattr(store, "read_consistent") else run()


def chat(
    kit: Any,
    history: list[dict[str, str]],
    question: str,
    *,
    generator: str | None = None,
    where: dict | None = None,
    k: int | None = None,
    on_token: Callable[[str], None] | None = None,
) -> Answer:
    """Answer a follow-up: ``history`` (``{"role","content"}`` turns) is condensed into a standalone query
    for retrieval, and the last turns go into the prompt."""
    gen = generator_for(kit, generator)
    standalone = condense(history, question, gen)
    recent = [m for m in history if m.get("role") in ("user", "assistant")][-HISTORY_TURNS:]
    hits = retrieve(kit, standalone, k, where)
    res = _resources(kit)
    return answer_hits(standalone, hits, gen, kit.config.generator, res.embed, history=recent, on_token=on_token)


def ask_many(
    kit: Any,
    questions: list[str],
    *,
    generator: str | None = None,
    where: dict | None = None,
    k: int | None = None,
) -> list[Answer | Exception]:
    """Answer several questions, sending prompts to the generator as one batch (vLLM, HTTP concurrency).

    A question that fails yields its exception in its slot; the others are answered.
    """
    gen = generator_for(kit, generator)
    res = _resources(kit)
    config = kit.config.generator
    results: list[Answer | Exception | None] = [None] * len(questions)
    prompts: list[tuple[int, Prompt]] = []
    for i, question in enumerate(questions):
        try:
            hits = kit.search(question, k=k or kit.config.retrieval.k, where=where)
            if not hits:
                results[i] = abstain(gen.name)
                continue
            prompts.append((i, make_prompt(question, hits, gen, config, count_tokens=_counter(res.embed))))
        except Exception as exc:  # noqa: BLE001 - recorded per question
            results[i] = exc
    if prompts:
        texts = _generate_many(gen, [p.messages for _, p in prompts], _max_tokens(gen, config))
        verifier = Verifier(res.embed)
        for (i, prompt), text in zip(prompts, texts):
            if isinstance(text, Exception):
                results[i] = text
                continue
            try:
                results[i] = finish(prompt, text, verifier, gen.name)
            except Exception as exc:  # noqa: BLE001
                results[i] = exc
    return [r if r is not None else RuntimeError("not answered") for r in results]


def _generate_many(gen: Any, batch: list[list[dict[str, str]]], max_tokens: int) -> list[str | Exception]:
    kwargs = {"json_schema": ANSWER_SCHEMA} if getattr(gen, "structured", False) else {}
    try:
        return list(gen.generate_batch(batch, max_tokens, **kwargs))
    except Exception:  # noqa: BLE001 - fall back to one by one so one bad prompt fails alone
        out: list[str | Exception] = []
        for messages in batch:
            try:
                out.append(gen.generate(messages, max_tokens, **kwargs))
            except Exception as exc:  # noqa: BLE001
                out.append(exc)
        return out


# -- chat: standalone query ---------------------------------------------------------------------------------
REWRITE_PROMPT = (
    "Rewrite the user's last question as one standalone question that can be understood without the "
    "conversation. Reply with the question only."
)


def condense(history: list[dict[str, str]], question: str, gen: Any = None) -> str:
    """A standalone query for retrieval.

    Generators that can rewrite well (``rewrites = True``: openai, vllm) are asked to; otherwise (and on any
    failure) a deterministic rule applies: a follow-up that refers back (pronouns like "it", "they") or is
    short gets the content words of the previous user question appended.
    """
    turns = [m for m in history if m.get("role") in ("user", "assistant") and m.get("content")]
    if not turns:
        return question
    if gen is not None and getattr(gen, "rewrites", False):
        convo = "\n".join(f"{m['role']}: {m['content']}" for m in turns[-HISTORY_TURNS:])
        messages = [
            {"role": "system", "content": REWRITE_PROMPT},
            {"role": "user", "content": f"Conversation:\n{convo}\n\nLast question: {question}\nStandalone question:"},
        ]
        try:
            rewritten = gen.generate(messages, 64).strip().strip('"').splitlines()[0].strip()
            if rewritten:
                return rewritten
        except Exception:  # noqa: BLE001 - fall back to the rule
            pass
    previous = next((m["content"] for m in reversed(turns) if m["role"] == "user"), "")
    words = tokens(question)
    refers_back = any(w in _ANAPHORA for w in words) or len(content_terms(question)) < 3
    if not previous or not refers_back:
        return question
    seen = {w for w in words}
    extra = [
        w
        for w in re.findall(r"[\w'’-]+", previous)
        if w.lower() not in STOPWORDS and w.lower() not in _FILLER and w.lower() not in seen
    ]
    extra = list(dict.fromkeys(extra))
    return f"{question.rstrip()} ({' '.join(extra)})" if extra else question


__all__ = ["ask", "chat", "ask_many", "answer_hits", "finish", "condense", "generator_for"]
