"""What a question asks for: its answer kind, the two options of a choice, the entities of a yes/no
question and the direction of a comparison. Rules, no model: they read English question forms
("who / when / where / how many / which X / A or B / are both ...") and return :class:`Analysis`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# the labels (spaCy's, and the graph's TITLE) a question's answer kind accepts
KIND_LABELS: dict[str, tuple[str, ...]] = {
    "person": ("PERSON",),
    "org": ("ORG",),
    "place": ("GPE", "LOC", "FAC"),
    "nationality": ("NORP", "GPE", "LANGUAGE"),
    "work": ("WORK_OF_ART", "TITLE", "PRODUCT", "EVENT", "LAW"),
    "event": ("EVENT", "WORK_OF_ART", "TITLE"),
    "date": ("DATE",),
    "number": ("NUMBER",),
    "thing": (),
}

# the head noun of "which / what <noun>" -> answer kind
_HEADS: dict[str, tuple[str, ...]] = {
    "person": ("person", "man", "woman", "actor", "actress", "singer", "musician", "player", "director", "author",
               "writer", "poet", "novelist", "artist", "painter", "composer", "producer", "politician", "president",
               "king", "queen", "prince", "princess", "emperor", "leader", "founder", "footballer", "athlete", "coach",
               "manager", "scientist", "physicist", "chemist", "philosopher", "drummer", "guitarist", "rapper",
               "comedian", "entertainer", "journalist", "architect", "designer", "lawyer", "judge", "general",
               "officer", "member", "star", "character", "wrestler", "boxer", "driver", "pitcher", "quarterback",
               "husband", "wife", "son", "daughter", "father", "mother", "brother", "sister", "champion",
               "astronaut", "economist", "mathematician", "historian", "dancer", "model", "host", "presenter",
               "screenwriter", "filmmaker", "cinematographer", "senator", "governor", "mayor", "minister"),
    "org": ("band", "group", "company", "team", "club", "organization", "organisation", "university", "college",
            "school", "league", "party", "network", "label", "corporation", "firm", "brand", "agency", "airline",
            "magazine", "newspaper", "channel", "station", "institution", "franchise", "conference", "association",
            "orchestra", "duo", "trio", "studio", "publisher", "manufacturer", "retailer", "chain", "restaurant",
            "bank", "army", "unit", "division", "regiment", "society", "church", "order", "dynasty", "government"),
    "place": ("city", "country", "state", "town", "village", "county", "region", "province", "island", "place",
              "location", "area", "river", "mountain", "lake", "continent", "nation", "district", "borough",
              "neighborhood", "neighbourhood", "suburb", "capital", "territory", "stadium", "arena", "venue",
              "building", "airport", "park", "street", "peninsula", "valley", "sea", "ocean", "municipality",
              "community", "part", "site", "base", "hotel", "museum", "theatre", "theater", "prison", "castle"),
    "work": ("film", "movie", "album", "song", "single", "book", "novel", "play", "series", "show", "opera",
             "musical", "poem", "game", "magazine", "episode", "sitcom", "documentary", "comic", "manga", "anime",
             "painting", "work", "title", "record", "ep", "soundtrack", "programme", "program", "drama", "miniseries"),
    "event": ("event", "war", "battle", "tournament", "championship", "festival", "competition", "election",
              "season", "race", "cup", "award", "prize", "olympics", "games", "storm", "hurricane", "revolution"),
    "date": ("year", "date", "day", "month", "century", "decade", "era", "period"),
    "number": ("number", "percentage", "age", "population", "amount", "capacity", "height", "length", "size"),
    "nationality": ("nationality", "citizenship", "ethnicity", "language", "citizen", "descent", "origin"),
}
_HEAD_KIND = {noun: kind for kind, nouns in _HEADS.items() for noun in nouns}

_AUX = {"is", "are", "was", "were", "do", "does", "did", "has", "have", "had", "can", "could", "will", "would",
        "should", "may", "might"}
# comparison cues: which option wins under each rule (see ``Analysis.compare``)
_EARLIEST = re.compile(r"\b(first|earlier|earliest|older|oldest|before|sooner|longer ago|preceded)\b")
_LATEST = re.compile(r"\b(later|latest|last|younger|youngest|newer|newest|more recent(ly)?|most recent(ly)?|after)\b")
_LONGER_LIFE = re.compile(r"\b(lived (a )?long(er)?|older age|longer life|live longer|lived to)\b")
_MORE = re.compile(r"\b(more|most|larger|largest|bigger|biggest|higher|highest|taller|tallest|longer|longest|"
                   r"greater|greatest|heavier|wider|deeper|further|farther|many)\b")
_FEWER = re.compile(r"\b(fewer|fewest|less|least|smaller|smallest|shorter|shortest|lower|lowest|lighter)\b")
_CAP_RUN = re.compile(r"(?:[A-Z0-9\u00C0-\u024F][\w.'’&:-]*|(?:of the|of|the|de la|de|la|von|van|v\.|du|del|y)(?= [A-Z0-9]))"
                      r"(?:\s+(?:[A-Z0-9\u00C0-\u024F][\w.'’&:-]*|(?:of the|of|the|de la|de|la|von|van|v\.|du|del|y)(?= [A-Z0-9])))*")
_WORD = re.compile(r"[\w'’-]+")


@dataclass
class Analysis:
    """A question read for its answer: ``kind`` (person, org, place, nationality, work, event, date,
    number, thing, choice, yesno), ``options`` of a choice or the entities a yes/no question is about,
    ``compare`` (earliest, latest, longest_life, max, min, or "" when the question names a property
    instead), ``same`` (a yes/no question asks whether the entities share a value) and ``topic`` (the
    words of the question that are not its wh-word, options or function words)."""

    kind: str
    options: list[str] = field(default_factory=list)
    compare: str = ""
    same: bool = False
    topic: str = ""

    @property
    def labels(self) -> tuple[str, ...]:
        return KIND_LABELS.get(self.kind, ())


def _clean_option(text: str) -> str:
    text = text.strip().strip(",;:").strip().strip("\"'“”‘’").strip()
    return re.sub(r"^(?:the|a|an)\s+", "", text, flags=re.IGNORECASE) if len(text.split()) > 1 else text


def choice_options(question: str) -> list[str]:
    """The two options of "..., A or B?" (empty when the question offers none)."""
    q = question.strip().rstrip("?").strip()
    head, sep, tail = q.rpartition(" or ")
    if not sep:
        return []
    right = _clean_option(tail)
    if head.split(" ", 1)[0].lower() in _AUX and "," not in head:  # "Is A or B older": options are names
        head = head.split(" ", 1)[1] if " " in head else ""
        m = _CAP_RUN.match(right)
        right = _clean_option(m.group(0)) if m else right
    if "," in head:
        left = _clean_option(head.rsplit(",", 1)[1])
        if not left and head.count(",") >= 2:  # "..., DC Talk, or Manchester Orchestra"
            left = _clean_option(head.rsplit(",", 2)[1])
    else:  # "Is A or B older": the capitalized run before " or "
        m = re.search(r"((?:[A-Z0-9][\w.'’&-]*\s?)+)$", head)
        left = _clean_option(m.group(1)) if m else ""
    if not left or not right or len(left.split()) > 10 or len(right.split()) > 10:
        return []
    return [left, right]


def yesno_entities(question: str) -> tuple[list[str], str]:
    """The two entities of "Are A and B both ...?" / "Were A and B from the same ...?" and the rest of
    the question (the property asked about); no entities when the question names fewer than two."""
    q = question.strip().rstrip("?")
    body = q.split(" ", 1)[1] if " " in q else ""
    body = re.sub(r"^(both|the)\s+", "", body, flags=re.IGNORECASE)
    left, sep, right = body.partition(" and ")
    if not sep:
        return [], body
    m = _CAP_RUN.match(right.strip())
    if not m or not left.strip():
        return [], body
    second = m.group(0)
    first_entity = re.sub(r"^(the|both)\s+", "", left.strip(), flags=re.IGNORECASE)
    lead = re.match(r"^(?:[a-z][\w-]*\s+)+(?=[A-Z0-9])", first_entity)  # "the flowering plants Ecballium"
    if lead:
        first_entity = first_entity[lead.end():]
    rest = right.strip()[m.end():]
    return [_clean_option(first_entity), _clean_option(second)], rest.strip()


def comparison(question: str) -> str:
    """The rule a choice is decided by: earliest, latest, longest_life, max, min or ""."""
    q = question.lower()
    if _LONGER_LIFE.search(q):
        return "longest_life"
    if re.search(r"\bborn\b", q) and re.search(r"\b(first|earlier|before)\b", q):
        return "earliest"
    if _EARLIEST.search(q):
        return "earliest"
    if _LATEST.search(q):
        return "latest"
    if _FEWER.search(q):
        return "min"
    if _MORE.search(q):
        return "max"
    return ""


def _head_noun(q: str) -> str:
    """The answer-kind noun among the four words after "which / what" ("which Canadian rock band"), lower case."""
    m = re.search(r"\b(?:which|what)\s+((?:[\w'’-]+\s*){1,4})", q)
    if not m:
        return ""
    for word in m.group(1).split():
        w = word.lower()
        base = w[:-1] if w.endswith("s") and w[:-1] in _HEAD_KIND else w
        if base in _HEAD_KIND:
            return base
    return ""


def _property(question: str, drop: list[str]) -> str:
    q = question
    for text in drop:
        q = q.replace(text, " ")
    return " ".join(_WORD.findall(q))


def analyze(question: str) -> Analysis:
    """Read ``question`` (see :class:`Analysis`)."""
    q = " ".join(question.strip().split())
    low = q.lower()
    first = low.split(" ", 1)[0] if low else ""
    options = choice_options(q)
    if options and (first in ("which", "who", "what", "whose", "whom") or first in _AUX or "," in q):
        return Analysis("choice", options, comparison(q), topic=_property(q, options))
    if first in _AUX:
        entities, rest = yesno_entities(q)
        same = bool(re.search(r"\b(same|common)\b", low))
        return Analysis("yesno", entities, same=same, topic=_property(rest, []))
    head = _head_noun(low)
    if re.search(r"\bhow (many|much|long|old|tall|high|far|big|large|deep|wide|heavy)\b", low):
        kind = "number"
    elif re.search(r"\bwhen\b|\bwhat (year|date|day|month|century|decade)\b|\bin which year\b|\bwhat time\b", low):
        kind = "date"
    elif re.search(r"\bwhere\b", low):
        kind = "place"
    elif re.search(r"\bwhat (nationality|citizen|ethnicity|language)\b|\bwhich (nationality|language)\b", low):
        kind = "nationality"
    elif head:
        kind = _HEAD_KIND[head]
    elif re.search(r"\b(who|whom|whose)\b", low):
        kind = "person"
    else:
        kind = "thing"
    return Analysis(kind, topic=_property(q, []))
