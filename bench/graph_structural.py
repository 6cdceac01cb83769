"""Structural queries: a crafted set of >= 20 questions over examples/docs and generated documents whose
answer is a place in the structure (a section, a table row, the documents linking to a page, a numbered
section), scored as "target in the top 3" for ``auto`` beside ``hybrid``.

    python bench/graph_structural.py [--json OUT.json] [--embedder minilm|hash]

The generated corpus (``write_corpus``) is deterministic: four products with near-identical install
guides (so text alone confuses them), release notes with two tables each, and HTML pages that link to
each other with link texts that do not name their target.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402

REPO = harness.ROOT

PRODUCTS = {"Orca": "orca", "Heron": "heron", "Lynx": "lynx", "Otter": "otter"}
VERSIONS = {"Orca": ["1.2", "1.3", "2.0"], "Heron": ["3.1", "3.2", "4.0"], "Lynx": ["4.1", "4.2", "5.0"],
            "Otter": ["0.9", "1.0", "1.1"]}
PORTS = {"Orca": 7001, "Heron": 7002, "Lynx": 7003, "Otter": 7004}


def install_guide(name: str, slug: str) -> str:
    return f"""# {name} installation guide

This guide installs the {name} agent. Read every section before you start.

## 1 Requirements

The agent needs 2 GB of memory and a supported operating system. See Section 3 for upgrades.

## 2 Install

### Linux

Download the package and run `sudo dpkg -i {slug}-agent.deb`, then enable the unit with `systemctl enable {slug}`.

### macOS

Install with `brew install {slug}` and start it with `brew services start {slug}`.

### Windows

Run the MSI installer `{slug}-setup.msi` as an administrator and accept the service prompt.

## 3 Upgrade

Stop the agent, install the new package over the old one and run `{slug} migrate`.
"""


def release_notes(name: str) -> str:
    v = VERSIONS[name]
    return f"""# {name} release notes

Table 1 lists the network ports, Table 2 the releases.

| Service | Port | Protocol |
|---|---|---|
| api | {PORTS[name]} | https |
| metrics | {PORTS[name] + 100} | http |

| Version | Released | Highlights |
|---|---|---|
| {v[0]} | 2025-01-10 | first public build |
| {v[1]} | 2025-06-02 | faster sync and smaller packages |
| {v[2]} | 2026-02-20 | new plugin system |
"""


def html_page(title: str, body: str, links: list[tuple[str, str]]) -> str:
    anchors = " ".join(f'<a href="{href}">{text}</a>' for href, text in links)
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1><p>{body}</p><p>{anchors}</p></body></html>"


def write_corpus(root: Path) -> Path:
    """The generated documents under ``root`` (returned), plus a copy of examples/docs in root/examples."""
    root.mkdir(parents=True, exist_ok=True)
    for name, slug in PRODUCTS.items():
        (root / f"install-{slug}.md").write_text(install_guide(name, slug))
        (root / f"release-{slug}.md").write_text(release_notes(name))
        (root / f"api-{slug}.html").write_text(html_page(
            f"{name} API reference", f"Endpoints of the {name} agent: status, sync and plugins.", []))
    (root / "portal.html").write_text(html_page(
        "Support portal", "Start here for help with any agent.",
        [("api-orca.html", "the reference"), ("api-lynx.html", "endpoint list")]))
    (root / "onboarding.html").write_text(html_page(
        "Onboarding checklist", "New operators read these pages in their first week.",
        [("api-orca.html", "interface docs"), ("install-heron.md", "setup steps")]))
    (root / "changelog-digest.html").write_text(html_page(
        "Changelog digest", "A monthly digest of what changed across the agents.",
        [("release-lynx.md", "latest notes"), ("api-heron.html", "interface changes")]))
    (root / "security.html").write_text(html_page(
        "Security contacts", "Report vulnerabilities to the security team within one day.",
        [("api-otter.html", "the endpoint docs")]))
    shutil.copytree(REPO / "examples" / "docs", root / "examples", dirs_exist_ok=True)
    return root


# (query, target): target is {"file", "heading"} (a section), {"file", "row"} (a table row),
# {"files"} (any document of the set, e.g. those linking to a page)
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("what does the Heron installation guide > Install > Linux section say", {"file": "install-heron.md", "heading": "Linux"}),
    ("what does the Orca installation guide > Install > macOS section say", {"file": "install-orca.md", "heading": "macOS"}),
    ("what does the Lynx installation guide > Install > Windows section say", {"file": "install-lynx.md", "heading": "Windows"}),
    ("Otter installation guide, section Upgrade", {"file": "install-otter.md", "heading": "3 Upgrade"}),
    ("what does section 3 of the Heron installation guide say", {"file": "install-heron.md", "heading": "3 Upgrade"}),
    ("what does section 1 of the Lynx installation guide say", {"file": "install-lynx.md", "heading": "1 Requirements"}),
    ("Orca installation guide Requirements section", {"file": "install-orca.md", "heading": "1 Requirements"}),
    ("the row for 4.2 in table 2 of the Lynx release notes", {"file": "release-lynx.md", "row": "4.2"}),
    ("the row for 3.1 in table 2 of the Heron release notes", {"file": "release-heron.md", "row": "3.1"}),
    ("the row for 1.1 in table 2 of the Otter release notes", {"file": "release-otter.md", "row": "1.1"}),
    ("the row for metrics in table 1 of the Orca release notes", {"file": "release-orca.md", "row": "metrics"}),
    ("the row for api in table 1 of the Heron release notes", {"file": "release-heron.md", "row": "api"}),
    ("the row for 2.0 in table 2 of the Orca release notes", {"file": "release-orca.md", "row": "2.0"}),
    ("which documents link to the Orca API reference page", {"files": ["portal.html", "onboarding.html"]}),
    ("which documents link to the Lynx API reference page", {"files": ["portal.html"]}),
    ("which documents link to the Heron API reference page", {"files": ["changelog-digest.html"]}),
    ("which documents link to the Otter API reference page", {"files": ["security.html"]}),
    ("which pages link to the Heron installation guide", {"files": ["onboarding.html"]}),
    ("which pages link to the Lynx release notes", {"files": ["changelog-digest.html"]}),
    ("what does the Installing Larkspur > Linux section say", {"file": "install.md", "heading": "Linux"}),
    ("what does the Installing Larkspur > Troubleshooting section say", {"file": "install.md", "heading": "Troubleshooting"}),
    ("the row for DELETE in the table of the Larkspur REST API", {"file": "api.html", "row": "DELETE"}),
    ("Larkspur REST API > Rate limits section", {"file": "api.html", "heading": "Rate limits"}),
]


def is_target(hit: Any, target: dict[str, Any]) -> bool:
    c = hit.chunk
    name = Path(c.source).name
    if "files" in target:
        return name in target["files"]
    if name != target["file"]:
        return False
    if "heading" in target:
        return bool(c.heading_path) and c.heading_path[-1] == target["heading"]
    if "row" in target:
        return c.kind == "table" and any(line.strip().startswith(f"| {target['row']} |") for line in c.text.splitlines())
    return False


def evaluate(kit: Any, queries: list[tuple[str, dict[str, Any]]], modes: tuple[str, ...] = ("hybrid", "auto"),
             k: int = 3) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in modes:
        found, rows, times = 0, [], []
        for query, target in queries:
            t0 = time.perf_counter()
            hits = kit.search(query, k=k, mode=mode)
            times.append((time.perf_counter() - t0) * 1000)
            ok = any(is_target(h, target) for h in hits[:k])
            found += ok
            rows.append({"query": query, "found": ok, "top": [f"{Path(h.chunk.source).name} § {h.chunk.heading}" for h in hits[:k]],
                         "paths": [h.paths for h in hits[:k]]})
        out[mode] = {f"top{k}": round(found / len(queries), 4), "found": found, "queries": len(queries),
                     "ms_mean": round(sum(times) / len(times), 1), "rows": rows}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__)
    parser.add_argument("--embedder", default="minilm")
    args = parser.parse_args(argv)
    import ragkit
    from ragkit.config import Config, EmbedderConfig

    tmp = Path(tempfile.mkdtemp(prefix="ragkit-structural-"))
    try:
        corpus = write_corpus(tmp / "docs")
        kit = ragkit.open(tmp / "store", Config(embedder=EmbedderConfig(name=args.embedder)))
        kit.index(corpus)
        result = evaluate(kit, QUERIES)
        report = {"queries": len(QUERIES), "embedder": args.embedder, "k": 3,
                  **{m: {k: v for k, v in r.items() if k != "rows"} for m, r in result.items()},
                  "rows": {m: r["rows"] for m, r in result.items()}}
        kit.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return harness.emit(report, args)


if __name__ == "__main__":
    sys.exit(main())
