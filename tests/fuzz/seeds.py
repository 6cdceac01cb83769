"""Small seed files of every fuzzed format, generated with the test helpers (no shared data needed).

``python -m tests.fuzz.seeds DIR`` writes them as ``DIR/FORMAT/NAME``.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.fixtures_docs import make_csv, make_docx, make_table_pdf, make_text_pdf, make_xlsx

MARKDOWN = """---
title: Glaciers
tags: [ice, water]
---
# Glaciers of the Alps

Alpine glaciers have **retreated** since 1850; see [WGMS](https://wgms.ch).

## Monitoring

| station | altitude | since |
| --- | ---: | --- |
| Rhone | 2,200 | 1874 |
| Aletsch | 1,560 | 1892 |

- a list item
  - nested `code`

```python
print("fenced code")
```

> a quote with a footnote[^1]

[^1]: the note.
"""

HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>Glaciers</title></head>
<body><nav><a href="/">home</a></nav>
<main><article><h1>Glaciers of the Alps</h1>
<p>Alpine glaciers have <b>retreated</b> since 1850.</p>
<h2>Monitoring</h2>
<table><thead><tr><th>station</th><th>altitude</th></tr></thead>
<tbody><tr><td rowspan="2">Rhone</td><td>2,200</td></tr><tr><td colspan="2">1,560</td></tr></tbody></table>
<ul><li>one</li><li>two <a href="https://example.org">link</a></li></ul>
<pre>code block</pre></article></main><footer>footer</footer></body></html>
"""


def write_seeds(folder: Path) -> dict[str, list[Path]]:
    """Write the seeds under ``folder/FORMAT/``; returns the paths by format."""
    out: dict[str, list[Path]] = {}

    def place(fmt: str, name: str) -> Path:
        target = folder / fmt
        target.mkdir(parents=True, exist_ok=True)
        path = target / name
        out.setdefault(fmt, []).append(path)
        return path

    make_text_pdf(place("pdf", "text.pdf"), [["Alpine glaciers have retreated since 1850."], ["Page two."]],
                  headings={0: "Glaciers"})
    make_table_pdf(place("pdf", "table.pdf"), intro="Revenue by region.", outro="End of report.")
    place("markdown", "doc.md").write_text(MARKDOWN, encoding="utf-8")
    place("html", "page.html").write_text(HTML, encoding="utf-8")
    make_csv(place("csv", "table.csv"), [["region", "2021", "2022"], ["North", "1,204", "1,350"],
                                         ["South", "987", '1,012 "q"'], ["", "", ""]])
    place("csv", "semicolon.csv").write_text("a;b;c\n1;2;3\n4;5;6\n", encoding="utf-8")
    make_docx(place("docx", "report.docx"), [
        ("h1", "Annual Report"), ("p", "This report covers the fiscal year."), ("h2", "Revenue"),
        ("table", [["Region", "Q1"], ["North", "10"]]), ("p", "Closing words."),
    ])
    make_xlsx(place("xlsx", "book.xlsx"), {
        "Sales": [["region", "q1", "q2"], ["North", 10, 12.5], ["South", None, "=B2+C2"]],
        "Notes": [["a note"]],
    })
    return out


def main() -> int:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="ragkit-seeds-"))
    for fmt, paths in write_seeds(folder).items():
        print(fmt, *(p.name for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
