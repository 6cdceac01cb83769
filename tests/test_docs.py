"""Every shell and Python example in README.md and docs/*.md runs, as written, offline.

Each file's examples run in order in a fresh folder holding a copy of ``examples/`` (so paths such as
``examples/docs`` work), sharing the default store ``.ragkit`` there. ``bash``/``sh`` blocks run as
scripts with ``set -euo pipefail``; in ``console`` blocks the lines after ``$ `` are the commands and
the rest is sample output; ``python`` blocks run with this interpreter. ``make`` runs in the repository.

A block can be marked ``<!-- doctest: not run (REASON) -->`` only when it needs a GPU host; a line of a
block is left out with ``<!-- doctest: except "PREFIX" (REASON) -->`` only for ``make test``, the
command that runs this test.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO

LANGUAGES = {"bash", "sh", "console", "python"}
DIRECTIVE = re.compile(r"<!--\s*doctest:\s*(not run|except)\s*(.*?)-->", re.S)
BLOCK_TIMEOUT = 600


@dataclass
class Example:
    path: Path
    line: int
    language: str
    code: str
    skip: str = ""
    excepted: list[str] = field(default_factory=list)


def examples(path: Path) -> list[Example]:
    """The fenced blocks of ``path`` in the languages above, with their directives."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Example] = []
    i = 0
    while i < len(lines):
        match = re.match(r"^```(\w+)?\s*$", lines[i])
        if not match:
            i += 1
            continue
        language = (match.group(1) or "").lower()
        start = i
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        if language not in LANGUAGES:
            continue
        example = Example(path, start + 1, language, "\n".join(body))
        j = start - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        while j >= 0 and lines[j].strip().startswith("<!--"):
            directive = DIRECTIVE.search(lines[j])
            if directive and directive.group(1) == "not run":
                example.skip = directive.group(2).strip()
            elif directive:
                example.excepted += re.findall(r'"([^"]+)"', directive.group(2))
            j -= 1
        out.append(example)
    return out


def commands(example: Example) -> str:
    """The shell script of a bash or console block (excepted lines left out)."""
    if example.language == "console":
        script, continued = [], False
        for line in example.code.splitlines():
            if line.startswith("$ ") or continued:
                script.append(line[2:] if line.startswith("$ ") and not continued else line)
                continued = line.rstrip().endswith("\\")
        lines = script
    else:
        lines = example.code.splitlines()
    kept = [ln for ln in lines if not any(ln.strip().startswith(prefix) for prefix in example.excepted)]
    return "\n".join(kept)


DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def test_every_directive_has_an_allowed_reason():
    for path in DOC_FILES:
        for example in examples(path):
            where = f"{path.name}:{example.line}"
            assert not example.skip or "GPU" in example.skip, f"{where}: only GPU-host examples may be left unrun"
            assert example.excepted in ([], ["make test"]), f"{where}: only `make test` may be excepted"


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.name)
def test_doc_examples_run(path: Path, tmp_path: Path):
    found = [e for e in examples(path) if not e.skip]
    if not found:
        return
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(REPO / "examples", work / "examples", ignore=shutil.ignore_patterns(".ragkit", "__pycache__"))
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",
        "ORT_DISABLE_TELEMETRY": "1",
    }
    prelude = f'set -euo pipefail\nmake() {{ command make -C "{REPO}" "$@"; }}\n'
    for example in found:
        where = f"{path.name}:{example.line}"
        if example.language == "python":
            proc = subprocess.run([sys.executable, "-c", example.code], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=BLOCK_TIMEOUT)
        else:
            proc = subprocess.run(["bash", "-c", prelude + commands(example)], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=BLOCK_TIMEOUT)
        assert proc.returncode == 0, f"{where} failed:\n{example.code}\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"
