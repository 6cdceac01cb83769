"""bench/crash.py's corpus: files of every supported format, written, edited, added and deleted from a
seeded ``random.Random`` (each version's text carries a tag, so each version differs).

A helper module of bench/crash.py (no ``main``: not a bench of its own).
"""
from __future__ import annotations

import hashlib
import random
from collections import Counter
from pathlib import Path

# every format of connectors.registry.FORMATS, with its share of the corpus
FORMAT_MIX = {"text": 0.2, "markdown": 0.2, "html": 0.15, "csv": 0.1, "pdf": 0.12, "xlsx": 0.08, "docx": 0.1,
              "image": 0.05}
SUFFIX = {"text": ".txt", "markdown": ".md", "html": ".html", "csv": ".csv", "pdf": ".pdf", "xlsx": ".xlsx",
          "docx": ".docx", "image": ".png"}
WORDS = ("river harbor engine copper lantern orchard falcon glacier meadow quartz signal tunnel "
         "violet walnut yarrow zephyr amber beacon cinder delta ember fjord granite heron").split()
PEOPLE = ("Ada Lovelace", "Marie Curie", "Alan Turing", "Grace Hopper", "Niels Bohr", "Rosalind Franklin")
PLACES = ("Paris", "London", "Vienna", "Geneva", "Boston", "Kyoto")


# -- the corpus ---------------------------------------------------------------------------------------

def _sentence(rng: random.Random, tag: str) -> str:
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14)))
    return f"{rng.choice(PEOPLE)} visited {rng.choice(PLACES)} to study the {words} ({tag})."


def _paragraphs(rng: random.Random, tag: str, n: int) -> list[str]:
    return [" ".join(_sentence(rng, tag) for _ in range(rng.randint(2, 4))) for _ in range(n)]


def write_file(path: Path, fmt: str, rng: random.Random, tag: str) -> None:
    """Write one small document of ``fmt`` whose text carries ``tag`` (so each version differs)."""
    from tests.fixtures_docs import make_csv, make_docx, make_text_pdf, make_text_png, make_xlsx

    if fmt == "text":
        path.write_text("\n\n".join(_paragraphs(rng, tag, rng.randint(1, 6))), encoding="utf-8")
    elif fmt == "markdown":
        parts = []
        for i in range(rng.randint(1, 3)):
            parts.append(f"# Section {i} {tag}\n\n" + "\n\n".join(_paragraphs(rng, tag, rng.randint(1, 3))))
        path.write_text("\n\n".join(parts), encoding="utf-8")
    elif fmt == "html":
        body = "".join(f"<h2>Part {i} {tag}</h2><p>{p}</p>" for i, p in enumerate(_paragraphs(rng, tag, rng.randint(1, 4))))
        path.write_text(f"<!doctype html><html><head><title>{tag}</title></head><body>{body}</body></html>", encoding="utf-8")
    elif fmt == "csv":
        rows = [["name", "city", "value", "tag"]]
        rows += [[rng.choice(PEOPLE), rng.choice(PLACES), str(rng.randint(1, 9999)), tag] for _ in range(rng.randint(3, 30))]
        make_csv(path, rows)
    elif fmt == "xlsx":
        rows: list[list[object]] = [["name", "city", "value", "tag"]]
        rows += [[rng.choice(PEOPLE), rng.choice(PLACES), rng.randint(1, 9999), tag] for _ in range(rng.randint(3, 20))]
        make_xlsx(path, {"Sheet1": rows})
    elif fmt == "docx":
        items: list[tuple[str, object]] = [("h1", f"Report {tag}")]
        items += [("p", p) for p in _paragraphs(rng, tag, rng.randint(1, 4))]
        if rng.random() < 0.3:
            items.append(("table", [["city", "value"], [rng.choice(PLACES), str(rng.randint(1, 99))]]))
        make_docx(path, items)
    elif fmt == "pdf":
        make_text_pdf(path, [_paragraphs(rng, tag, rng.randint(1, 3)) for _ in range(rng.randint(1, 2))])
    elif fmt == "image":
        make_text_png(path, [f"{rng.choice(PEOPLE)} in {rng.choice(PLACES)}", f"note {tag}"], size=28)
    else:
        raise ValueError(f"unknown format {fmt!r}")


def make_corpus(folder: Path, n: int, rng: random.Random) -> None:
    """``n`` files in ``folder``, formats in the proportions of ``FORMAT_MIX`` (each format at least once)."""
    folder.mkdir(parents=True, exist_ok=True)
    formats = [f for f, share in FORMAT_MIX.items() for _ in range(max(1, round(share * n)))]
    rng.shuffle(formats)
    for i, fmt in enumerate(formats[:n]):
        write_file(folder / f"f{i:05d}{SUFFIX[fmt]}", fmt, rng, f"v0-{i}")


def mutate(folder: Path, rng: random.Random, round_no: int, size: int) -> Counter[str]:
    """Edit, add and delete about ``size`` files in all (every format among the new ones)."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    done: Counter[str] = Counter()
    fmt_of = {v: k for k, v in SUFFIX.items()}
    for path in rng.sample(files, min(len(files), size // 2)):
        write_file(path, fmt_of[path.suffix], rng, f"v{round_no}-{path.stem}")
        done["edited"] += 1
    for path in rng.sample([p for p in files if p.exists()], min(len(files), size // 4)):
        path.unlink()
        done["deleted"] += 1
    formats = list(FORMAT_MIX)
    for i in range(size - size // 2 - size // 4):
        fmt = formats[i % len(formats)]
        write_file(folder / f"r{round_no:02d}_{i:03d}{SUFFIX[fmt]}", fmt, rng, f"v{round_no}-new{i}")
        done["added"] += 1
    return done


def on_disk(folder: Path) -> dict[str, str]:
    return {str(p.resolve()): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}

