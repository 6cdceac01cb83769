"""libFuzzer (atheris) entry for one format: ``python -m tests.fuzz.atheris_main FORMAT [libFuzzer args]``.

Coverage-guided over ragkit's connectors and the pure-Python parsers they use; zip formats (docx,
xlsx) are mutated inside their XML members and re-zipped, so inputs get past the zip layer. A crash
(any exception but ConnectorError, or a failed Document check) ends the run with the input saved by
libFuzzer; ``-timeout=N`` turns a hang into a crash too. ``bench/fuzz.py`` supervises runs.
"""
from __future__ import annotations

import io
import random
import sys
import zipfile

import atheris

with atheris.instrument_imports(include=["connectors", "markdown_it", "openpyxl", "docx", "mdit_py_plugins"]):
    import docx  # noqa: F401  (the parsers the connectors import lazily, imported here to be instrumented)
    import markdown_it  # noqa: F401
    import openpyxl  # noqa: F401
    import connectors.csv  # noqa: F401
    import connectors.docx  # noqa: F401
    import connectors.html  # noqa: F401
    import connectors.markdown  # noqa: F401
    import connectors.pdf  # noqa: F401
    import connectors.xlsx  # noqa: F401
    from tests.fuzz.target import SUFFIXES, run_bytes

ZIP_FORMATS = {"docx", "xlsx"}


def mutate_zip(data: bytes, max_size: int, seed: int) -> bytes:
    """Mutate one member of a zip (its XML) and re-zip; plain byte mutation when it isn't a zip."""
    rng = random.Random(seed)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    except Exception:
        return atheris.Mutate(data, max_size)
    if not members or rng.random() < 0.1:
        return atheris.Mutate(data, max_size)
    xml = [i for i, (name, _) in enumerate(members) if name.endswith((".xml", ".rels"))] or list(range(len(members)))
    index = rng.choice(xml)
    name, content = members[index]
    members[index] = (name, atheris.Mutate(content, max(len(content) * 2, 256)))
    if rng.random() < 0.05:
        del members[rng.randrange(len(members))]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            archive.writestr(name, content)
    mutated = out.getvalue()
    return mutated if len(mutated) <= max_size else atheris.Mutate(data, max_size)


def main() -> None:
    fmt = sys.argv[1]
    if fmt not in SUFFIXES:
        raise SystemExit(f"unknown format {fmt!r}; valid: {', '.join(SUFFIXES)}")
    argv = [sys.argv[0], *sys.argv[2:]]

    def one(data: bytes) -> None:
        run_bytes(data, fmt, "/dev/shm")

    atheris.Setup(argv, one, custom_mutator=mutate_zip if fmt in ZIP_FORMATS else None)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
