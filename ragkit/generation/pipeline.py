"""Question → retrieval → prompt → generator → citations → verification → :class:`Answer`.

:class:`Answerer` is the typed component a store's runtime builds (its retrieval and generators given
to it); ``answer_hits`` does the work from hits and needs neither.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
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
from ragkit.access import Scope
from ragkit.generation.chat import HISTORY_TURNS, condense
from ragkit.generation.short import Mentions, ShortComposer
from ragkit.generation.short_answer import attach_short, split_short
from ragkit.generation.verify import EmbedCache, Passage, Verifier
from ragkit.protocols import Embedder, Generator
from ragkit.types import Answer, Hit, Sentence

_ABSTAIN = re.compile(
    r"\b(cannot|can ?not|can't|unable to|not able to) (answer|determine)\b"
    r"|\b(context|passages?|documents?|sources?|provided (text|information))\b[^.]{0,40}?\b(does|do|did) not "
    r"(contain|mention|provide|say|include|specify|answer|state)\b"
    r"|\bnot (enough|sufficient) (information|context)\b|\bno (relevant )?information (about|on|regarding)\b"
    r"|\bi (do not|don't) know\b",
    re.IGNORECASE,
)


class Generators:
    """The generators of one store by name, each built once (a local model loads once per store), and
    the embedding cache their verifier shares."""

    def __init__(self, config: GeneratorConfig, embedder: Embedder, mentions: Mentions | None = None):
        self.config = config
        self.embed = EmbedCache(embedder)
        self.mentions = mentions
        self._built: dict[str, Generator] = {}
        self._composer: ShortComposer | None = None
        self._lock = threading.Lock()

    def composer_for(self, gen: Any) -> ShortComposer | None:
        """The short-answer composer for answers of ``gen``: None when ``short_answers`` is off or ``gen``
        writes its own short answer (``writes_short``: the LLM backends); ``mentions`` reads the graph."""
        if not self.config.short_answers or getattr(gen, "writes_short", False):
            return None
        with self._lock:
            if self._composer is None:
                self._composer = ShortComposer(self.embed, mentions=self.mentions)
            return self._composer

    def get(self, name: str | None = None) -> Generator:
        """The generator called ``name`` (default: the config's)."""
        from ragkit.generation import make_generator

        key = name or self.config.name
        with self._lock:
            if key not in self._built:
                self._built[key] = make_generator(self.config, key, embedder=self.embed)
            return self._built[key]


def is_echo(text: str, question: str) -> bool:
    """Whether an answer sentence repeats the prompt (the question, or a "Question: ..." line)."""
    low = " ".join(text.lower().split())
    return low.startswith(("question:", "context passages", "answer (cite")) or low.rstrip("?. ") == " ".join(
        question.lower().split()).rstrip("?. ")


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


def finish(prompt: Prompt, text: str, verifier: Verifier, generator: str = "",
           composer: ShortComposer | None = None) -> Answer:
    """Turn generated ``text`` into a verified, cited Answer for ``prompt``; its short answer is the
    generator's ``Short answer:`` line, else the ``composer``'s (None: no short answer is composed)."""
    hits = [b.hit for b in prompt.blocks]
    drafted, text = split_short(text)
    if drafted is not None and is_abstention(drafted.text):
        drafted = None
    drafts = parse_structured(text)
    if drafts is None:
        drafts = split_answer(text)
    drafts = [d for d in drafts if not is_echo(d.text, prompt.question)]
    claims = [d for d in drafts if not is_abstention(d.text)]
    if not prompt.blocks or (not claims and drafted is None):
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
    if not any(s.verified for s in sentences) and drafted is None:
        return abstain(generator, hits)
    short, sentences = attach_short(prompt, sentences, quotes, verifier, drafted, composer)
    claim_sentences = [s for s in sentences if not is_abstention(s.text)]
    verified = sum(s.verified for s in claim_sentences)
    if verified == 0:  # nothing supported: not even the sentence stating a drafted short answer
        return abstain(generator, hits)
    citations = [make_citation(prompt.block(n), spans) for n, spans in sorted(quotes.items())]  # type: ignore[arg-type]
    return Answer(
        short=short,
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
    composer: ShortComposer | None = None,
) -> Answer:
    """Answer ``question`` from ``hits`` with ``gen``; ``embed`` is an embedder or an EmbedCache;
    ``composer`` writes the short answer (see :meth:`Generators.composer_for`)."""
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
    return finish(prompt, text, Verifier(cache), gen.name, composer)


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


# -- the answerer -------------------------------------------------------------------------------------------
Retrieve = Callable[[str, int | None, Scope | None], list[Hit]]  # (query, k, scope) -> hits


class Answerer:
    """Answers questions of one store: retrieve (``evidence``: hits plus graph evidence; ``hits``: search
    only, for batches), prompt, generate, cite and verify."""

    def __init__(self, evidence: Retrieve, hits: Retrieve, generators: Generators):
        self.evidence = evidence
        self.hits = hits
        self.generators = generators

    def ask(
        self,
        question: str,
        *,
        generator: str | None = None,
        scope: Scope | None = None,
        k: int | None = None,
        on_token: Callable[[str], None] | None = None,
        history: list[dict[str, str]] | None = None,
    ) -> Answer:
        """Retrieve for ``question``, generate, cite and verify."""
        gen = self.generators.get(generator)
        hits = self.evidence(question, k, scope)
        return answer_hits(question, hits, gen, self.generators.config, self.generators.embed, history=history,
                           on_token=on_token, composer=self.generators.composer_for(gen))

    def chat(
        self,
        history: list[dict[str, str]],
        question: str,
        *,
        generator: str | None = None,
        scope: Scope | None = None,
        k: int | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer a follow-up: ``history`` (``{"role","content"}`` turns) is condensed into a standalone
        query for retrieval, and the last turns go into the prompt."""
        gen = self.generators.get(generator)
        standalone = condense(history, question, gen)
        recent = [m for m in history if m.get("role") in ("user", "assistant")][-HISTORY_TURNS:]
        hits = self.evidence(standalone, k, scope)
        return answer_hits(standalone, hits, gen, self.generators.config, self.generators.embed, history=recent,
                           on_token=on_token, composer=self.generators.composer_for(gen))

    def ask_many(
        self,
        questions: list[str],
        *,
        generator: str | None = None,
        scope: Scope | None = None,
        k: int | None = None,
    ) -> list[Answer | Exception]:
        """Answer several questions, sending prompts to the generator as one batch (vLLM, HTTP
        concurrency). A question that fails yields its exception in its slot; the others are answered."""
        gen = self.generators.get(generator)
        embed = self.generators.embed
        config = self.generators.config
        results: list[Answer | Exception | None] = [None] * len(questions)
        composer = self.generators.composer_for(gen)
        prompts: list[tuple[int, Prompt]] = []
        for i, question in enumerate(questions):
            try:
                hits = self.hits(question, k, scope)
                if not hits:
                    results[i] = abstain(gen.name)
                    continue
                prompts.append((i, make_prompt(question, hits, gen, config, count_tokens=_counter(embed))))
            except Exception as exc:  # noqa: BLE001 - recorded per question
                results[i] = exc
        if prompts:
            texts = _generate_many(gen, [p.messages for _, p in prompts], _max_tokens(gen, config))
            verifier = Verifier(embed)
            for (i, prompt), text in zip(prompts, texts):
                if isinstance(text, Exception):
                    results[i] = text
                    continue
                try:
                    results[i] = finish(prompt, text, verifier, gen.name, composer)
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


__all__ = ["Answerer", "Generators", "answer_hits", "finish", "condense", "make_prompt", "abstain", "is_abstention"]
