"""The ``ragkit`` command: index, search, ask, batch, tune, eval, serve, config, stats."""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

import ragkit
from ragkit.cli.common import (
    DEFAULT_STORE, AsOpt, ExecutorOpt, JsonOpt, QuietOpt, StoreOpt, check_executor, emit, fail, parse_pairs,
    principal_of, stderr,
)

app = typer.Typer(
    name="ragkit",
    help="Offline retrieval-augmented generation with verified citations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(help="Evaluate retrieval and extraction on public benchmarks.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

# Subcommands that live in their own modules, each exposing register(app[, eval_app]).
COMMAND_MODULES = ("ragkit.cli.ask", "ragkit.cli.retrieval", "ragkit.cli.tables", "ragkit.cli.serve", "ragkit.cli.graph")


@app.command()
def index(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to index.")],
    meta: Annotated[Optional[list[str]], typer.Option("--meta", help="Metadata key=value for every file.")] = None,
    include: Annotated[Optional[list[str]], typer.Option("--include", help="Glob of files to read (others are not read; stored ones stay).")] = None,
    exclude: Annotated[Optional[list[str]], typer.Option("--exclude", help="Glob of files not to read (stored ones stay).")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-chunk and re-embed everything.")] = False,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for another writer.")] = 0.0,
    label: Annotated[Optional[list[str]], typer.Option("--label", help="Access label of every file read (repeatable; default: keep those given before). docs/access.md")] = None,
    no_label: Annotated[bool, typer.Option("--no-label", help="Remove the labels given with --label before (rules and sidecars still apply).")] = False,
    executor: ExecutorOpt = None,
    store: StoreOpt = DEFAULT_STORE,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Index files incrementally: add new, update changed, delete vanished, skip unchanged."""
    from ragkit.access import AccessError
    from ragkit.cli.common import progress_bar
    from ragkit.store import StoreLockedError, StoreMismatchError

    if label and no_label:
        fail("give --label or --no-label, not both")
    labels = [] if no_label else label
    check_executor(executor)
    kit = ragkit.open(store)
    console = stderr(quiet)
    try:
        with progress_bar(quiet) as on_progress:
            report = kit.index(
                paths, meta=parse_pairs(meta, "--meta"), include=include, exclude=exclude,
                rebuild=rebuild, wait=wait, progress=on_progress, labels=labels, executor=executor,
            )
    except (StoreLockedError, StoreMismatchError, FileNotFoundError, AccessError, ImportError, ConnectionError) as exc:
        fail(str(exc))
    data = report.to_dict()
    for failure in report.failed:
        console.print(f"[yellow]not indexed:[/yellow] {failure['error']}", highlight=False)
    human = (
        f"added {report.added}, updated {report.updated}, deleted {report.deleted}, "
        f"unchanged {report.unchanged}, chunks {report.chunks}, failed {len(report.failed)}"
        + (f", relabeled {report.relabeled}" if report.relabeled else "")
    )
    emit(data, json, human)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[Optional[int], typer.Option("-k", help="Number of hits (default: the config's retrieval.k).")] = None,
    mode: Annotated[Optional[str], typer.Option("--mode", help="lexical | dense | hybrid | graph | auto (default: config).")] = None,
    where: Annotated[Optional[list[str]], typer.Option("--where", help="Filter key=value (metadata, source_prefix, format, kind).")] = None,
    store: StoreOpt = DEFAULT_STORE,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
    as_: AsOpt = None,
) -> None:
    """Search the store; prints ranked hits with their sources."""
    if mode is not None and mode not in ("lexical", "dense", "hybrid", "graph", "auto"):
        fail(f"unknown mode {mode!r}; valid: lexical, dense, hybrid, graph, auto")
    who = principal_of(as_)
    kit = ragkit.open(store)
    try:
        hits = kit.search(query, k=k, mode=mode, where=parse_pairs(where, "--where") or None, principal=who)
    except ValueError as exc:
        fail(str(exc))
    data = [h.to_dict() for h in hits]
    lines = []
    for rank, hit in enumerate(hits, 1):
        c = hit.chunk
        where_txt = f"{c.source}" + (f" p.{c.page}" if c.page else "") + (f" § {c.heading}" if c.heading else "")
        snippet = " ".join(c.text.split())[:160]
        lines.append(f"{rank:>2}. {hit.score:.3f}  {where_txt}  [{c.span[0]}:{c.span[1]}]\n      {snippet}")
    emit(data, json, "\n".join(lines) if lines else "no hits")


@app.command()
def stats(store: StoreOpt = DEFAULT_STORE, json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Documents, chunks, generation and failed files of a store."""
    emit(ragkit.open(store).stats(), json)


@app.command()
def check(
    repair: Annotated[bool, typer.Option("--repair", help="Restore the committed state where it differs.")] = False,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for another writer (with --repair).")] = 0.0,
    store: StoreOpt = DEFAULT_STORE,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Verify vectors and the lexical index against the manifest; --repair restores them."""
    from ragkit.store import StoreLockedError

    if not (store / "manifest.sqlite").exists():
        fail(f"{store}: no ragkit store here (no manifest.sqlite)")
    kit = ragkit.open(store)
    try:
        report = kit.check(repair=repair, wait=wait)
    except StoreLockedError as exc:
        fail(str(exc))
    lines = [f"{p.part}: {p.kind} ({p.count}): {p.detail}" for p in report.problems]
    lines += [f"repaired: {what}" for what in report.repaired]
    lines += [f"still damaged: {p.part}: {p.kind} ({p.count}): {p.detail}" for p in report.remaining]
    status = "ok" if report.ok else ("repaired" if repair and not report.remaining else "damaged")
    human = "\n".join(lines + [f"{status}: {report.checked.get('chunks', 0)} chunks checked in {report.seconds:.1f} s"])
    emit(report.to_dict(), json, human)
    if not report.ok and (not repair or report.remaining):
        raise typer.Exit(1)


config_app = typer.Typer(
    help="Show, get or set the store's config (one config for SDK, CLI and server).", invoke_without_command=True
)
app.add_typer(config_app, name="config")


def _open_config(store: Path) -> tuple[Any, Any]:
    from ragkit.config import Config

    try:
        return ragkit.open(store), Config.load(store, env={})  # edits never save environment overrides
    except ValueError as exc:
        fail(str(exc))
        raise  # unreachable: fail exits


@config_app.callback()
def config_show(
    ctx: typer.Context, store: StoreOpt = DEFAULT_STORE, json: JsonOpt = False, quiet: QuietOpt = False
) -> None:
    """Show the store's config (with environment overrides applied)."""
    if ctx.invoked_subcommand is None:
        kit, _ = _open_config(store)
        emit(kit.config.to_dict(), json)


@config_app.command("get")
def config_get(
    key: Annotated[str, typer.Argument(help="section.key (or section.table.key).")],
    store: StoreOpt = DEFAULT_STORE,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Print one setting."""
    kit, _ = _open_config(store)
    try:
        value = kit.config.get(key)
    except KeyError as exc:
        fail(exc.args[0])
    emit({key: value}, json, str(value))


@config_app.command("set")
def config_set(
    settings: Annotated[list[str], typer.Argument(help="KEY VALUE, or one or more KEY=VALUE (KEY: section.key or section.table.key).")],
    store: StoreOpt = DEFAULT_STORE,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Set settings (checked: unknown keys and invalid values are refused, listing the valid ones)."""
    if len(settings) == 2 and "=" not in settings[0]:
        pairs = {settings[0]: settings[1]}
    else:
        pairs = parse_pairs(settings, "config set")
    kit, config = _open_config(store)
    for key, value in pairs.items():
        try:
            config.set(key, value)
        except KeyError as exc:
            fail(exc.args[0])
        except ValueError as exc:
            fail(str(exc))
    config.save(kit.path)
    emit({key: config.get(key) for key in pairs}, json, "\n".join(f"{k} = {config.get(k)!r}" for k in pairs))


def _register_modules() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # that part of ragkit is not built yet
            raise
        try:
            module.register(app, eval_app)
        except TypeError:
            module.register(app)


_register_modules()


def main() -> None:
    from ragkit.offline import enforce_offline

    enforce_offline()  # before any command loads a model library
    app()


if __name__ == "__main__":
    main()
