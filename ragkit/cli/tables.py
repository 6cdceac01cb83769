"""`ragkit eval tables` (PDF table extraction on ICDAR 2013 / tabula-java) and `ragkit eval tatqa`."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ragkit.cli.common import JsonOpt, QuietOpt, StoreOpt, emit, fail, progress_bar


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    @eval_app.command("tables")
    def tables(
        directory: Annotated[Path, typer.Argument(help="ICDAR 2013 folder (PDF + *-str.xml) or tabula-java folder.")],
        out: Annotated[Optional[Path], typer.Option("--out", help="Write extracted cells per page (JSON).")] = None,
        store: StoreOpt = Path(".ragkit"),
        json: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Cell recall / precision / F1 of PDF table extraction (the same PDF connector `index` uses)."""
        from ragkit.eval.tables import evaluate_icdar, evaluate_tabula

        if not directory.is_dir():
            fail(f"{directory}: not a folder")
        if (directory / "expected_csv").is_dir() or any(directory.glob("*/expected_csv")):
            result = evaluate_tabula(directory)
        else:
            result = evaluate_icdar(directory, out)
        emit(result, json)

    @eval_app.command("tatqa")
    def tatqa(
        path: Annotated[Path, typer.Argument(help="TAT-QA json file (or the folder holding it).")],
        mode: Annotated[Optional[str], typer.Option("--mode", help="lexical | dense | hybrid (default: config).")] = None,
        table_mode: Annotated[str, typer.Option("--table-mode", help="table (table-aware chunks) | text (flattened).")] = "table",
        limit: Annotated[Optional[int], typer.Option("--limit", help="First N questions only.")] = None,
        store: Annotated[Optional[Path], typer.Option("--store", help="Reuse this store (default: a fresh temporary one).")] = None,
        json: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """hit@1 / hit@5 of table + paragraph retrieval on TAT-QA (units pooled over all contexts)."""
        from ragkit.eval.tatqa import TABLE_MODES, evaluate_tatqa

        if table_mode not in TABLE_MODES:
            fail(f"unknown --table-mode {table_mode!r}; valid: {', '.join(TABLE_MODES)}")
        if not path.exists():
            fail(f"{path}: no such file or directory")
        with progress_bar(quiet) as update:
            result = evaluate_tatqa(path, store=store, mode=mode, table_mode=table_mode, limit=limit, progress=update)
        emit(result, json)
