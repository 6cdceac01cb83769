"""The alias-merge threshold: precision and recall of name-embedding cosine on crafted name pairs that do
or do not denote the same entity (pairs that survive normalization: case, punctuation, plurals and
titles are already merged by the key). Usage:

    python bench/graph_aliases.py [--json OUT.json]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

REPO = harness.ROOT

SAME = [
    ("IBM Corporation", "IBM Corp"), ("Microsoft Corporation", "Microsoft Corp."), ("Apple Inc.", "Apple Incorporated"),
    ("United States of America", "United States"), ("New York City", "New York"), ("Massachusetts Institute of Technology", "MIT"),
    ("World Health Organization", "World Health Org"), ("University of California, Berkeley", "UC Berkeley"),
    ("Barack Obama", "Barack Hussein Obama"), ("Marie Curie", "Marie Skłodowska Curie"), ("J. K. Rowling", "Joanne Rowling"),
    ("Albert Einstein", "Einstein"), ("Leonardo da Vinci", "Leonardo"), ("Manchester United F.C.", "Manchester United"),
    ("Los Angeles Lakers", "LA Lakers"), ("The New York Times", "New York Times Company"),
    ("European Union", "the EU"), ("National Aeronautics and Space Administration", "NASA"),
    ("Federal Bureau of Investigation", "FBI"), ("Google LLC", "Google"), ("Amazon.com", "Amazon"),
    ("Tottenham Hotspur F.C.", "Tottenham Hotspur"), ("Kiss and Tell (1945 film)", "Kiss and Tell"),
    ("Saint Petersburg", "St Petersburg"), ("Mount Everest", "Mt. Everest"),
]
DIFFERENT = [
    ("Pierre Curie", "Marie Curie"), ("George Bush", "George W. Bush"), ("New York", "New Jersey"),
    ("Apple Inc.", "Apple Records"), ("Manchester United", "Manchester City"), ("Los Angeles Lakers", "Los Angeles Clippers"),
    ("University of California, Berkeley", "University of California, Los Angeles"), ("Paris", "Paris Hilton"),
    ("Amazon", "Amazon River"), ("Jordan", "Michael Jordan"), ("Washington", "George Washington"),
    ("Java", "JavaScript"), ("Austria", "Australia"), ("Sweden", "Switzerland"), ("Iran", "Iraq"),
    ("Kiss and Tell", "Kiss Me Deadly"), ("North Korea", "South Korea"), ("World War I", "World War II"),
    ("Star Wars", "Star Trek"), ("Harry Potter", "Harry Styles"), ("Google", "Google Maps"),
    ("FBI", "CIA"), ("Einstein", "Frankenstein"), ("Tottenham Hotspur", "Tottenham Court Road"),
    ("Saint Petersburg", "St. Petersburg, Florida"),
]


def main(argv: list[str] | None = None) -> int:
    from graphs.resolve import normalize
    from ragkit.embedding import MiniLMEmbedder

    parser = harness.parser(__doc__)
    args = parser.parse_args(argv)
    embedder = MiniLMEmbedder()
    pairs = [(a, b, 1) for a, b in SAME] + [(a, b, 0) for a, b in DIFFERENT]
    names = sorted({n for a, b, _ in pairs for n in (a, b)})
    vectors = np.asarray(embedder.embed(names), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = {n: i for i, n in enumerate(names)}
    cos = [(float(vectors[index[a]] @ vectors[index[b]]), label, a, b) for a, b, label in pairs]
    rows = []
    for threshold in np.arange(0.6, 0.96, 0.05):
        tp = sum(1 for c, y, *_ in cos if c >= threshold and y)
        fp = sum(1 for c, y, *_ in cos if c >= threshold and not y)
        fn = sum(1 for c, y, *_ in cos if c < threshold and y)
        rows.append({"threshold": round(float(threshold), 2), "precision": round(tp / max(tp + fp, 1), 3),
                     "recall": round(tp / max(tp + fn, 1), 3), "merged": tp + fp})
    report = {"pairs_same": len(SAME), "pairs_different": len(DIFFERENT),
              "same_after_normalization": sum(normalize(a) == normalize(b) for a, b in SAME),
              "grid": rows, "pairs": sorted([{"cos": round(c, 3), "same": y, "a": a, "b": b} for c, y, a, b in cos],
                                            key=lambda r: -r["cos"])}
    return harness.emit(report, args)


if __name__ == "__main__":
    sys.exit(main())
