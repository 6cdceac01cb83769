"""The short answer of the extractive default, no LLM: a span of a cited passage ("Rush", "1974"), one of
a question's two options, or yes / no, decided from facts the cited passages state.

- **Span questions** (who / when / where / how many / which X / what): candidate spans come from the best
  context sentences (the extractive generator's scores): the graph's entity mentions of each chunk (or a
  recognizer over those sentences when the store has no graph), dates, numbers and passage titles.
  :meth:`ShortComposer.span_candidates` gives each its features; :func:`pick` weighs them (``WEIGHTS``,
  from a grid search on the hits of HotpotQA pooled questions 1-250, checked on 251-500; the search
  script is not in the repository). Spans the question already names are never the answer.
- **Choices** ("which is older, A or B?"): each option is matched to its passage; the comparison cue
  (earlier / later / longer life / more / fewer) picks the option whose stated date or number wins, and
  the reason names both facts. Without a cue, the option whose passage best states the question's
  property wins, when it wins by ``CHOICE_MARGIN``.
- **Yes / no** ("are A and B both X?", "... from the same country?"): the property is looked up in each
  entity's passage; "same" questions compare the values found.

Anything undecided returns None: no short answer rather than a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ragkit.generation.extractive import Candidate, ExtractiveGenerator, _answer_like
from ragkit.generation.facts import YEAR, Fact, dates, lifespan, numbers
from ragkit.generation.prompt import ContextBlock
from ragkit.generation.question import Analysis, analyze
from ragkit.generation.sentences import STOPWORDS, content_terms, stem, tokens
from ragkit.types import Short, markers

# chunk ids -> each chunk's entity mentions (surface, label): the graph's, read at query time
Mentions = Callable[[Sequence[str]], Mapping[str, Sequence[tuple[str, str]]]]

TOP_SENTENCES = 8  # candidate spans come from this many best sentences
WEIGHTS = {"sentence": 0.5, "type": 0.3, "mismatch": 0.6, "vote": 0.0, "near": 0.05, "title": 0.05, "rank": 0.0, "bridge": 0.1}
THRESHOLD = 0.35  # the best span's score must reach this, or there is no short answer
CHOICE_MARGIN = 0.02  # a property choice needs its option's passage this much ahead
_YES_SHARE = 0.6  # share of the property's words an entity's passage must state for "yes"


@dataclass
class SpanCandidate:
    """A candidate short answer: where it is (block ``n``, char span in the block text), its label and
    the features :func:`pick` weighs."""

    n: int
    span: tuple[int, int]
    text: str
    label: str
    sentence: tuple[int, int]
    features: dict[str, float] = field(default_factory=dict)


@dataclass
class Composed:
    """A short answer and the sentences (block ``n``, char span) that state its evidence."""

    short: Short
    evidence: list[tuple[int, tuple[int, int]]] = field(default_factory=list)


def title_of(block: ContextBlock) -> str:
    """The passage's title: its first heading, else the document title in its metadata."""
    chunk = block.chunk
    if chunk.heading_path:
        return chunk.heading_path[0]
    return str(chunk.metadata.get("title") or "")


def _norm(text: str) -> str:
    return " ".join(tokens(text))


def _overlap(a: str, b: str) -> float:
    """Share of ``a``'s content words found in ``b``."""
    ta = set(content_terms(a)) or set(tokens(a))
    return len(ta & (set(content_terms(b)) | set(tokens(b)))) / len(ta) if ta else 0.0


def _stated(terms: Sequence[str], text: str) -> float:
    """Share of ``terms`` (stemmed) the text states, a word matching on its first five letters
    ("genuses" ~ "genus")."""
    if not terms:
        return 0.0
    have = set(content_terms(text))
    prefixes = {h[:5] for h in have}
    return sum(t in have or t[:5] in prefixes for t in terms) / len(terms)


def _occurrences(text: str, needle: str) -> list[int]:
    if not needle.strip():
        return []
    return [m.start() for m in re.finditer(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", text)]


class ShortComposer:
    """Composes :class:`Short` answers from context blocks (see the module docstring). ``embed`` is the
    embedder (or cache) the extractive generator scores sentences with; ``mentions`` reads the graph's
    entity mentions per chunk; ``recognizer`` finds entities when there are none (default: spaCy's
    small model if installed, else capitalized runs)."""

    def __init__(self, embed: Any, mentions: Mentions | None = None, recognizer: Any = None,
                 weights: Mapping[str, float] | None = None, threshold: float = THRESHOLD):
        self.scorer = ExtractiveGenerator(embedder=embed)
        self.mentions = mentions
        self._recognizer = recognizer
        self.weights = dict(weights or WEIGHTS)
        self.threshold = threshold

    @property
    def recognizer(self) -> Any:
        if self._recognizer is None:
            from graphs.extract import CapitalizedRecognizer, SpacyRecognizer

            spacy = SpacyRecognizer()
            try:
                spacy.nlp
                self._recognizer = spacy
            except ImportError:
                self._recognizer = CapitalizedRecognizer()
        return self._recognizer

    def run(self, question: str, blocks: Sequence[ContextBlock]) -> Composed | None:
        """The short answer to ``question`` from ``blocks``, or None when the evidence does not decide."""
        if not blocks:
            return None
        analysis = analyze(question)
        ranked = [c for c in self.scorer.score(question, [(b.n, b.text) for b in blocks]) if _answer_like(c.text)]
        if analysis.kind == "choice":
            return decide_choice(analysis, blocks, ranked)
        if analysis.kind == "yesno":
            return decide_yesno(analysis, blocks, ranked, self._entities)
        cands = self.span_candidates(question, analysis, blocks, ranked)
        best = pick(cands, self.weights)
        if best is None or best[1] < self.threshold:
            return None
        cand = _trimmed(best[0], question)
        short = Short(text=cand.text, citations=[cand.n], span=cand.span, kind=analysis.kind)
        return Composed(short, [(cand.n, cand.sentence)])

    # -- span questions --------------------------------------------------------------------------------
    def _entities(self, blocks: Sequence[ContextBlock], pieces: Sequence[tuple[int, tuple[int, int]]]
                  ) -> dict[tuple[int, tuple[int, int]], list[tuple[int, int, str, str]]]:
        """Entity spans (start, end, text, label) in each (block n, sentence span), relative to the block."""
        by_n = {b.n: b for b in blocks}
        out: dict[tuple[int, tuple[int, int]], list[tuple[int, int, str, str]]] = {p: [] for p in pieces}
        known = self.mentions([b.chunk.chunk_id for b in blocks]) if self.mentions is not None else {}
        unknown = [p for p in pieces if not known.get(by_n[p[0]].chunk.chunk_id)]
        for n, (s, e) in pieces:
            text = by_n[n].text[s:e]
            for surface, label in known.get(by_n[n].chunk.chunk_id, ()):
                for off in _occurrences(text, surface):
                    out[(n, (s, e))].append((s + off, s + off + len(surface), surface, label))
        if unknown:
            found = self.recognizer.spans([by_n[n].text[s:e] for n, (s, e) in unknown])
            for (n, (s, e)), spans in zip(unknown, found):
                out[(n, (s, e))].extend((s + a, s + b, t, label) for a, b, t, label in spans)
        return out

    def span_candidates(self, question: str, analysis: Analysis, blocks: Sequence[ContextBlock],
                        ranked: Sequence[Candidate]) -> list[SpanCandidate]:
        """Candidate spans of the best sentences, each with its features."""
        top = list(ranked[:TOP_SENTENCES])
        if not top:
            return []
        by_n = {b.n: b for b in blocks}
        titles = {_norm(title_of(b)) for b in blocks} - {""}
        q_tokens = set(tokens(question))
        q_terms = set(content_terms(question))
        pieces = [(c.n, c.span) for c in top]
        entities = self._entities(blocks, pieces)
        best_score = top[0].score
        first = by_n[top[0].n]
        bridges = {b.n for b in blocks if b.n != first.n and title_of(b) and _occurrences(first.text, title_of(b))}
        out: list[SpanCandidate] = []
        for rank, cand in enumerate(top):
            block = by_n[cand.n]
            s, e = cand.span
            raw = block.text[s:e]
            spans = list(entities[(cand.n, cand.span)])
            spans += [(s + f.start, s + f.end, f.text, "DATE") for f in dates(raw)]
            spans += [(s + f.start, s + f.end, f.text, "NUMBER") for f in numbers(raw)]
            title = title_of(block)
            if title.lower().startswith("list of"):
                title = ""
            spans += [(s + off, s + off + len(title), title, "TITLE") for off in _occurrences(raw, title)]
            term_pos = [m.start() for m in re.finditer(r"[\w'’-]+", raw) if stem(m.group(0).lower()) in q_terms]
            for start, end, text, label in _dedupe(spans):
                words = tokens(text)
                content = [w for w in words if w not in STOPWORDS] or words
                if not content or sum(w in q_tokens for w in content) / len(content) > 0.5:
                    continue
                pos = start - s
                gap = min((abs(p - pos) for p in term_pos), default=len(raw))
                out.append(SpanCandidate(cand.n, (start, end), text, label, cand.span, {
                    "sentence": cand.score - best_score,
                    "type": _type_match(label, analysis),
                    "mismatch": float(bool(analysis.labels) and label in _TYPED and label not in analysis.labels),
                    "near": 1.0 / (1.0 + gap / 20.0),
                    "title": float(_norm(text) in titles),
                    "rank": 1.0 / (1 + rank),
                    "bridge": float(cand.n in bridges),
                }))
        votes: dict[str, set[int]] = {}
        for c in out:
            votes.setdefault(_norm(c.text), set()).add(c.n)
        for c in out:
            c.features["vote"] = float(len(votes[_norm(c.text)]) - 1)
        return out


_YEAR_ONLY = re.compile(r"\b(what|which|in what|in which) year\b|\byear\b.*\?$", re.IGNORECASE)


def _trimmed(cand: SpanCandidate, question: str) -> SpanCandidate:
    """The span as an answer: the year alone when the question asks for a year, without a possessive."""
    text, (start, end) = cand.text, cand.span
    if cand.label == "DATE" and _YEAR_ONLY.search(question):
        m = YEAR.search(text)
        if m:
            return replace(cand, span=(start + m.start(), start + m.end()), text=m.group(0))
    for suffix in ("'s", "’s"):
        if text.endswith(suffix):
            return replace(cand, span=(start, end - len(suffix)), text=text[: -len(suffix)])
    return cand


# labels that say what a span is (a recognizer without types, like the model-free one, says "ENTITY")
_TYPED = {"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "WORK_OF_ART", "PRODUCT", "EVENT", "LAW", "LANGUAGE",
          "DATE", "NUMBER"}


def _type_match(label: str, analysis: Analysis) -> float:
    """1 when the span's label is what the question asks for, 0.5 when the label does not say (an untyped
    entity, or a passage title for a name-like kind), else 0."""
    if label in analysis.labels:
        return 1.0
    if label not in _TYPED and analysis.kind in ("work", "org", "person", "place", "event", "nationality"):
        return 0.5
    return 0.0


def _dedupe(spans: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str, str]]:
    """Overlapping spans: the longer one (an entity over a number inside it), first label on ties."""
    order = sorted(spans, key=lambda x: (-(x[1] - x[0]), x[0]))
    kept: list[tuple[int, int, str, str]] = []
    for span in order:
        if all(span[1] <= k[0] or span[0] >= k[1] for k in kept):
            kept.append(span)
    return sorted(kept)


def pick(cands: Sequence[SpanCandidate], weights: Mapping[str, float]) -> tuple[SpanCandidate, float] | None:
    """The best candidate and its score: ``THRESHOLD``-scale sum of weighted features (sentence is the
    gap to the best sentence, so the best sentence's spans start at 0 + the other features)."""
    best: tuple[SpanCandidate, float] | None = None
    for c in cands:
        score = 0.3 + sum(weights.get(k, 0.0) * v * (-1.0 if k == "mismatch" else 1.0) for k, v in c.features.items())
        if best is None or score > best[1]:
            best = (c, score)
    return best


# -- choices and yes / no ---------------------------------------------------------------------------------
def block_for(name: str, blocks: Sequence[ContextBlock], taken: Collection[int] = ()) -> ContextBlock | None:
    """The passage about ``name``: its title matches, else it names ``name`` early; None when none does."""
    best: tuple[float, ContextBlock] | None = None
    for b in blocks:
        if b.n in taken:
            continue
        title = title_of(b)
        score = max(_overlap(name, title), 0.9 * _overlap(title, name)) if title else 0.0
        head = b.text[:300]
        if score < 0.5 and name.lower() in head.lower():
            score = 0.6
        if score >= 0.5 and (best is None or score > best[0]):
            best = (score, b)
    return best[1] if best else None


def _pair(names: list[str], blocks: Sequence[ContextBlock]) -> list[tuple[str, ContextBlock]] | None:
    """Each of the two names with its own passage (None when either has none)."""
    first = block_for(names[0], blocks)
    second = block_for(names[1], blocks, {first.n}) if first is not None else None
    return [(names[0], first), (names[1], second)] if first is not None and second is not None else None


def _sentences_of(n: int, ranked: Sequence[Candidate]) -> list[Candidate]:
    return [c for c in ranked if c.n == n]


def _fact(rule: str, block: ContextBlock, ranked: Sequence[Candidate], topic: str) -> tuple[float, str, tuple[int, int]] | None:
    """The value an option is compared by, its text and the sentence stating it."""
    sents = sorted(_sentences_of(block.n, ranked), key=lambda c: c.span)
    if not sents:
        return None
    if rule == "longest_life":
        for c in sents[:2]:
            years = lifespan(block.text[c.span[0]:c.span[1]])
            if years is not None:
                return years, f"{years:.0f} years", c.span
        return None
    terms = set(content_terms(topic))
    born = "born" in topic.lower() or bool(terms & {"older", "younger", "old", "young"})
    best: tuple[float, Fact, tuple[int, int]] | None = None
    for i, c in enumerate(sents):
        raw = block.text[c.span[0]:c.span[1]]
        facts = dates(raw) if rule in ("earliest", "latest") else [f for f in numbers(raw) if f.value[0] > 0]
        for j, f in enumerate(facts):
            unit = set(content_terms(raw[f.end:f.end + 30])) | set(content_terms(f.text))
            score = c.score + 0.3 * bool(unit & terms) - 0.05 * j + (0.5 if born and i == 0 and j == 0 else 0.0)
            if best is None or score > best[0]:
                best = (score, f, c.span)
    if best is None:
        return None
    _, fact, sentence = best
    # a date orders as one number: year, then month (1/13 of a year), then day (1/400)
    value = fact.value[0] + fact.value[1] / 13 + fact.value[2] / 400 if fact.kind == "date" else fact.value[0]
    return value, fact.text, sentence


def decide_choice(a: Analysis, blocks: Sequence[ContextBlock], ranked: Sequence[Candidate]) -> Composed | None:
    """One of the two options, decided by the comparison cue or by which passage states the property."""
    pair = _pair(a.options, blocks)
    if pair is None:
        return None
    rule = a.compare
    if rule:
        one, two = (_fact(rule, b, ranked, a.topic) for _, b in pair)
        if one is not None and two is not None and one[0] != two[0]:
            facts = [one, two]
            values = [f[0] for f in facts]
            win = values.index(min(values) if rule in ("earliest", "min") else max(values))
            word = {"earliest": "earlier", "latest": "later", "longest_life": "longer life", "max": "more",
                    "min": "fewer"}[rule]
            reason = "; ".join(f"{name}: {f[1]} {markers([b.n])}" for (name, b), f in zip(pair, facts))
            return _chosen(pair, win, [(b.n, f[2]) for (_, b), f in zip(pair, facts)],
                           f"{reason} ({word}: {pair[win][0]})")
    best = []
    option_words = set(content_terms(" ".join(a.options)))
    terms = [t for t in content_terms(a.topic) if t not in option_words]
    for _, b in pair:
        sents = _sentences_of(b.n, ranked)
        best.append((sents[0].score + _stated(terms, b.text), sents[0]) if sents else None)
    if best[0] is None or best[1] is None or abs(best[0][0] - best[1][0]) < CHOICE_MARGIN:
        return None
    win = 0 if best[0][0] > best[1][0] else 1
    return _chosen(pair, win, [(pair[win][1].n, best[win][1].span)],  # type: ignore[index]
                   f"{pair[win][0]} {markers([pair[win][1].n])} states what the question asks; "
                   f"{pair[1 - win][0]} {markers([pair[1 - win][1].n])} less so")


def _chosen(pair: list[tuple[str, ContextBlock]], win: int, evidence: list[tuple[int, tuple[int, int]]],
            reason: str) -> Composed:
    name, block = pair[win]
    text, offs = name, _occurrences(block.text, name)
    if not offs:  # the passage may name the option by its title
        title = title_of(block)
        title_offs = _occurrences(block.text, title)
        if title_offs:
            text, offs = title, title_offs
    span = (offs[0], offs[0] + len(text)) if offs else None
    cites = [b.n for _, b in pair if any(n == b.n for n, _ in evidence)] or [block.n]
    return Composed(Short(text=text, citations=sorted(set(cites)), span=span, kind="choice", reason=reason), evidence)


def decide_yesno(a: Analysis, blocks: Sequence[ContextBlock], ranked: Sequence[Candidate],
                 entities: Callable[..., dict[tuple[int, tuple[int, int]], list[tuple[int, int, str, str]]]]
                 ) -> Composed | None:
    """Yes or no: whether each entity's passage states the property (or, for "same", the same value)."""
    pair = _pair(a.options, blocks) if len(a.options) == 2 else None
    if pair is None:
        return None
    terms = [t for t in content_terms(a.topic) if t not in ("both", "same", "common")]
    if not terms:
        return None
    leads = []
    for _, b in pair:
        sents = sorted(_sentences_of(b.n, ranked), key=lambda c: c.span)[:2]
        if not sents:
            return None
        leads.append((sents[0].span[0], sents[-1].span[1]))
    if a.same:
        values = [_attribute(terms, b, span, entities) for (_, b), span in zip(pair, leads)]
        if not values[0] or not values[1]:
            return None
        yes = bool(set(map(_norm, values[0])) & set(map(_norm, values[1])))
        reason = "; ".join(f"{name}: {', '.join(v[:2])} {markers([b.n])}" for (name, b), v in zip(pair, values))
    else:
        shares = [_stated(terms, b.text) for _, b in pair]
        yes = all(x >= _YES_SHARE for x in shares)
        stated = " ".join(a.topic.split()[-4:])
        reason = "; ".join(f"{name}: {'states' if x >= _YES_SHARE else 'does not state'} {stated!r} {markers([b.n])}"
                           for (name, b), x in zip(pair, shares))
    evidence = [(b.n, span) for (_, b), span in zip(pair, leads)]
    return Composed(Short(text="yes" if yes else "no", citations=[b.n for _, b in pair], kind="yesno", reason=reason),
                    evidence)


_COUNTRY_WORDS = {"country", "nationality", "nation", "citizen", "citizenship", "origin", "descent"}


def _attribute(terms: list[str], block: ContextBlock, span: tuple[int, int],
               entities: Callable[..., dict[tuple[int, tuple[int, int]], list[tuple[int, int, str, str]]]]) -> list[str]:
    """The values a passage's lead states for a "same ..." property: nationalities and countries for
    country words, else the capitalized names next to the property word ("family Cucurbitaceae")."""
    found = entities([block], [(block.n, span)])[(block.n, span)]
    text = block.text[span[0]:span[1]]
    if set(terms) & {stem(w) for w in _COUNTRY_WORDS}:
        return [t for _, _, t, label in found if label in ("NORP", "GPE")]
    values = []
    for term in terms:
        for m in re.finditer(r"\b" + re.escape(term) + r"\w*\s+(?:of\s+|the\s+|is\s+|by\s+)*([A-Z][\w'’&.-]+(?:\s+[A-Z][\w'’&.-]+)*)", text, re.IGNORECASE):
            values.append(m.group(1))
    if not values:
        near = [t for _, _, t, label in found if label in ("ORG", "PERSON", "GPE", "NORP")]
        values = near[:3]
    return values
