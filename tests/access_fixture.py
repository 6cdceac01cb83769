"""A mixed-access corpus: public documents, documents labelled ``hr``, ``legal`` and both, sharing
entities across labels, with names that exist only in restricted documents; and the checks that no
output of a principal carries anything of a document it may not read."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import hash_config, write_files

# Labels come from three places: a config rule (hr/**), a folder sidecar (legal/.ragkit-labels) and a
# file sidecar (shared/merger.md.labels); the SDK's labels= is exercised by the relabel tests.
DOCS = {
    "public/overview.md": "# Overview\n\nAcme Corporation builds rockets in Berlin. Project Falcon is led by "
                          "Acme Corporation and its chief engineer Nadia Petrova.\n",
    "public/history.md": "# History\n\nAcme Corporation was founded in Berlin in 1990. Nadia Petrova joined "
                         "Acme Corporation in 2001 to start Project Falcon.\n",
    "public/products.md": "# Products\n\nThe Falcon rocket of Acme Corporation carries satellites. Project Falcon "
                          "tests engines near Berlin every spring.\n",
    "public/careers.md": "# Careers\n\nAcme Corporation hires engineers in Berlin for Project Falcon and the "
                         "satellite program.\n",
    "public/press.md": "# Press\n\nNadia Petrova presented Project Falcon at the Berlin space fair for Acme "
                       "Corporation.\n",
    "hr/salaries.md": "# Salaries\n\nAcme Corporation pays Zebulon Quark a bonus of 90000 euros for Project "
                      "Falcon. Nadia Petrova approved the bonus of Zebulon Quark.\n",
    "hr/reviews.md": "# Reviews\n\nZebulon Quark received a performance review from Nadia Petrova at Acme "
                     "Corporation in Berlin.\n",
    "legal/lawsuit.md": "# Lawsuit\n\nGlobex Industries sued Acme Corporation over Project Falcon. Judge Harold "
                        "Finch heard the case in Berlin.\n",
    "legal/settlement.md": "# Settlement\n\nAcme Corporation settled with Globex Industries. Judge Harold Finch "
                           "approved the settlement.\n",
    "shared/merger.md": "# Merger\n\nAcme Corporation plans a merger with Initech Holdings. Nadia Petrova leads "
                        "the merger talks with Initech Holdings in Berlin.\n",
    "finance/budget.md": "# Budget\n\nOphelia Vance sets the budget of Project Falcon at Acme Corporation.\n",
}
SIDECARS = {"legal/.ragkit-labels": "legal\n", "shared/merger.md.labels": "hr, legal  # both teams\n",
            "finance/budget.md.labels": "finance\n"}
RULES = [{"glob": "hr/**", "labels": ["hr"]}]
DOC_LABELS = {
    **{rel: set() for rel in DOCS if rel.startswith("public/")},
    "hr/salaries.md": {"hr"}, "hr/reviews.md": {"hr"},
    "legal/lawsuit.md": {"legal"}, "legal/settlement.md": {"legal"},
    "shared/merger.md": {"hr", "legal"},
    "finance/budget.md": {"finance"},
}
# names written only in restricted documents: the group(s) of documents that hold them
SECRETS = {
    "Zebulon Quark": {"hr/salaries.md", "hr/reviews.md"},
    "Quark": {"hr/salaries.md", "hr/reviews.md"},
    "90000": {"hr/salaries.md"},
    "Harold Finch": {"legal/lawsuit.md", "legal/settlement.md"},
    "Globex": {"legal/lawsuit.md", "legal/settlement.md"},
    "Initech": {"shared/merger.md"},
    "Ophelia Vance": {"finance/budget.md"},
}
QUERIES = [
    "Who did Acme Corporation pay a bonus for Project Falcon?",
    "What bonus did Zebulon Quark receive?",
    "Who is Zebulon Quark?",
    "Which judge heard the case of Globex Industries against Acme Corporation?",
    "Harold Finch",
    "What is the relationship between Acme Corporation and Initech Holdings?",
    "Tell me about Project Falcon in Berlin",
    "Nadia Petrova",
    "Who leads the merger talks of Acme Corporation?",
    "What does the Salaries section say?",
    "settlement approved by the judge",
    "rockets satellites engines",
    "Who sets the budget of Project Falcon?",
]
PRINCIPALS: dict[str, Any] = {"public": "", "hr": "hr", "legal": "legal", "hr+legal": ["hr", "legal"]}
K = 4


def build(root: Path, **config_changes: Any):
    """The mixed corpus indexed into a hash-embedder store (graph on); returns (kit, docs folder)."""
    import ragkit

    docs = write_files(root / "docs", {**DOCS, **SIDECARS})
    config = hash_config()
    config.access.rules = list(RULES)
    for dotted, value in config_changes.items():
        config.set(dotted, value)
    kit = ragkit.open(root / "store", config)
    report = kit.index([docs])
    assert report.added == len(DOCS) and not report.failed, report
    return kit, docs


def labels_of(principal: Any) -> set[str]:
    if isinstance(principal, str):
        return {p for p in principal.split(",") if p}
    return set(principal)


@dataclass
class Forbidden:
    """What one principal must never see, derived from the fixture's ground truth (and the owner's view
    of the store for ids, entity keys and predicates)."""

    docs: set[str]
    chunks: set[str]
    readable_chunks: set[str]
    strings: set[str]
    entity_keys: set[str]
    predicates: set[str] = field(default_factory=set)

    def check_text(self, text: str, what: str) -> None:
        for s in self.strings:
            assert s not in text, f"{what}: leaks {s!r}"
        for cid in self.chunks:
            assert cid not in text, f"{what}: leaks chunk {cid}"

    def check(self, obj: Any, what: str) -> None:
        self.check_text(json.dumps(obj, default=str, ensure_ascii=False), what)


def forbidden_for(kit: Any, docs: Path, principal: Any) -> Forbidden:
    mine = labels_of(principal)
    bad_rel = {rel for rel, labels in DOC_LABELS.items() if labels and not labels & mine}
    bad_docs = {str((docs / rel).resolve()) for rel in bad_rel}
    chunks = {c.chunk_id for d in bad_docs for c in kit.store.doc_chunks(d)}
    readable = set(kit.store.all_chunk_ids()) - chunks
    strings = {s for s, holders in SECRETS.items() if holders <= bad_rel} | bad_docs
    strings |= {Path(rel).name for rel in bad_rel}  # file names (document nodes are named after them)
    g = kit.graph.index  # the owner's graph: entities whose every mention is in a forbidden chunk
    keys = set()
    for e, col in g.entity_col.items():
        rows = g.mentions.getcol(col).tocoo().row
        if all(g.chunk_ids[r] in chunks for r in rows):
            keys.add(e)
            strings.add(g.names[e])
    seen_predicates = {p for _, _, p, c in g.relations if c in readable}
    predicates = {p for _, _, p, c in g.relations if c in chunks} - seen_predicates
    return Forbidden(bad_docs, chunks, readable, strings, keys, predicates)
