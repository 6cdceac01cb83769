"""OCR quality through the connectors: CER on scanned pages, answer coverage on chart screenshots.

1. Character error rate of ``connectors.pdf.load`` on OCRmyPDF's scanned "linn" page (and its
   skewed copy) against the shipped ground truth. Both texts are normalized the same way:
   Unicode NFKC, typographic quotes/dashes mapped to ASCII, every run of whitespace (line
   breaks, blank lines, column gaps) collapsed to one space. CER = Levenshtein distance /
   reference length, in the reading order the connector produces (columns read one after the
   other), so layout errors count too.
2. MultiChartQA sample: for each open-ended question, whether its answer occurs in the OCR text
   (``connectors.image.load``) of the chart(s) it refers to (case-folded, whitespace-normalized;
   multi-part answers split at ";", ``all_parts`` needs every part, ``parts`` counts each part).
   Many answers are computed (differences, counts) rather than written in the chart, so this is
   an upper bound on what retrieval over OCR text can answer directly, not an accuracy.

Usage: python bench/ocr.py [--data DIR] [--engine rapidocr|tesseract] [--limit N] [--skip-charts]
                           [--cache CHART_TEXTS.json]
Prints one JSON document.
"""
from __future__ import annotations

import json
import os
import platform
import re
import sys
import time
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

REPO = harness.ROOT
DATA = harness.SHARED_DATA

_TRANSLATE = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "—": "-", "–": "-", "‐": "-",
                            "•": " ", "\u00a0": " "})


def normalize(text: str) -> str:
    """NFKC, ASCII quotes and dashes, whitespace runs → one space."""
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    return re.sub(r"\s+", " ", text).strip()


def cer(hypothesis: str, reference: str) -> float:
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(hypothesis, reference) / max(len(reference), 1)


def scanned_pages(data: Path) -> dict[str, object]:
    from connectors.pdf import load

    truth = normalize((data / "pdf_corpus" / "ground_truth_text" / "ocrmypdf-linn.txt").read_text("utf-8"))
    out: dict[str, object] = {"reference_chars": len(truth)}
    for name in ("ocrmypdf-linn.pdf", "ocrmypdf-skew.pdf"):
        started = time.perf_counter()
        doc = load(data / "pdf_corpus" / "pdf" / name, name)
        seconds = time.perf_counter() - started
        text = normalize(" ".join(doc.text[b.start:b.end] for b in doc.blocks))
        out[name] = {"cer": round(cer(text, truth), 4), "chars": len(text), "seconds": round(seconds, 2),
                     "engine": doc.metadata.get("ocr_engine")}
    return out


def charts(data: Path, limit: int | None, cache: Path | None = None) -> dict[str, object]:
    from connectors.base import ConnectorError
    from connectors.image import load

    root = data / "multichartqa_sample"
    questions = [json.loads(line) for line in (root / "questions.jsonl").read_text("utf-8").splitlines() if line.strip()]
    if limit:
        questions = questions[:limit]
    texts: dict[str, str] = json.loads(cache.read_text("utf-8")) if cache and cache.exists() else {}
    cached = len(texts)
    errors: dict[str, str] = {}
    started = time.perf_counter()
    for q in questions:
        for rel in q["image"]:
            if rel not in texts:
                try:
                    texts[rel] = load(root / rel, rel).text
                except ConnectorError as exc:
                    texts[rel] = ""
                    errors[rel] = exc.reason
    ocr_seconds = time.perf_counter() - started
    if cache:
        cache.write_text(json.dumps(texts, ensure_ascii=False), "utf-8")
    open_ended = [q for q in questions if q.get("type") != "multiple-choice"]
    all_found = parts_found = parts_total = long_found = long_total = 0
    by_task: dict[str, list[int]] = {}
    for q in open_ended:
        haystack = normalize(" ".join(texts[rel] for rel in q["image"])).casefold()
        squeezed = haystack.replace(" ", "")
        parts = [normalize(p).casefold() for p in str(q["answer"]).split(";") if p.strip()]
        hits = [p in haystack or p.replace(" ", "") in squeezed for p in parts]
        parts_found += sum(hits)
        parts_total += len(parts)
        ok = bool(parts) and all(hits)
        all_found += ok
        if parts and all(len(p.replace(" ", "")) >= 3 for p in parts):  # not "2", "B", "10"
            long_total += 1
            long_found += ok
        task = q.get("task", "").split("/")[0]
        by_task.setdefault(task, [0, 0])
        by_task[task][0] += ok
        by_task[task][1] += 1
    return {
        "questions": len(questions),
        "open_ended": len(open_ended),
        "images": len(texts),
        "answer_in_ocr_all_parts": round(all_found / max(len(open_ended), 1), 4),
        "answer_parts_in_ocr": round(parts_found / max(parts_total, 1), 4),
        "answer_in_ocr_all_parts_3plus_chars": round(long_found / max(long_total, 1), 4),
        "questions_3plus_chars": long_total,
        "by_task": {k: round(v[0] / v[1], 4) for k, v in sorted(by_task.items())},
        "ocr_seconds_per_image": round(ocr_seconds / max(len(texts) - cached, 1), 2) if len(texts) > cached else None,
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__, data=DATA)
    parser.add_argument("--engine", default=None, help="rapidocr | tesseract (default: best available)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N chart questions")
    parser.add_argument("--skip-charts", action="store_true")
    parser.add_argument("--cache", type=Path, default=None, help="JSON file keeping chart OCR texts between runs")
    args = parser.parse_args(argv)
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    if args.engine:
        os.environ["RAGKIT_OCR_ENGINE"] = args.engine
    from connectors import ocr

    engine = ocr.get_engine()
    result: dict[str, object] = {
        "engine": engine.name if engine else None,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "scanned_pages": scanned_pages(args.data),
    }
    if not args.skip_charts:
        result["multichartqa"] = charts(args.data, args.limit, args.cache)
    return harness.emit(result, args, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    sys.exit(main())
