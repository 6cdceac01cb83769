"""``ragkit graph``: stats, entities, neighbors, path, export, merge and unmerge of a store's graph."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ragkit.cli.common import DEFAULT_STORE, AsOpt, JsonOpt, QuietOpt, StoreOpt, emit, fail, principal_of

graph_app = typer.Typer(help="Inspect the store's entity and structure graph.", no_args_is_help=True)


def _kit(store: Path):
    import ragkit

    kit = ragkit.open(store)
    if not kit.graph.available():
        fail(f"{store}: the store has no graph (index with graph.enabled = true)")
    return kit


@graph_app.command("stats")
def stats(store: StoreOpt = DEFAULT_STORE, json: JsonOpt = False, quiet: QuietOpt = False, as_: AsOpt = None) -> None:
    """Node and edge counts of the graph, and whether it matches the manifest."""
    import ragkit

    kit = ragkit.open(store)
    data = kit.graph.stats(principal=principal_of(as_))
    emit(data, json)


@graph_app.command("entities")
def entities(
    top: Annotated[int, typer.Option("--top", help="How many entities.")] = 20,
    label: Annotated[Optional[str], typer.Option("--label", help="Only this label (PERSON, ORG, TITLE, ...).")] = None,
    store: StoreOpt = DEFAULT_STORE,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
    as_: AsOpt = None,
) -> None:
    """The most-mentioned entities with their chunk counts and aliases."""
    rows = _kit(store).graph.entities(top=top, label=label, principal=principal_of(as_))
    human = "\n".join(f"{r['chunks']:>6}  {r['name']}  [{r['label']}]" for r in rows) or "no entities"
    emit(rows, json, human)


@graph_app.command("neighbors")
def neighbors(
    name: Annotated[str, typer.Argument(help="An entity name, document (source or title) or node id.")],
    kind: Annotated[Optional[list[str]], typer.Option("--kind", help="Only these edge kinds.")] = None,
    store: StoreOpt = DEFAULT_STORE,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
    as_: AsOpt = None,
) -> None:
    """Nodes one edge away from NAME, with the edge kind, predicate and supporting chunk."""
    try:
        data = _kit(store).graph.neighbors(name, kind, principal=principal_of(as_))
    except KeyError as exc:
        fail(str(exc.args[0]))
    lines = [f"{n['direction']:>3} {n['edge']:<9} {n['name']}" + (f"  ({n['predicate']})" if n["predicate"] else "")
             for n in data["neighbors"]]
    emit(data, json, "\n".join([data["node"]] + lines))


@graph_app.command("path")
def path(
    a: Annotated[str, typer.Argument(help="From: entity, document or node id.")],
    b: Annotated[str, typer.Argument(help="To: entity, document or node id.")],
    store: StoreOpt = DEFAULT_STORE,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
    as_: AsOpt = None,
) -> None:
    """The shortest path between A and B, each step with its edge and supporting chunk."""
    try:
        data = _kit(store).graph.path(a, b, principal=principal_of(as_))
    except KeyError as exc:
        fail(str(exc.args[0]))
    emit(data, json, " -> ".join(data["names"]) if data["found"] else f"no path between {a!r} and {b!r}")


@graph_app.command("export")
def export(
    format: Annotated[str, typer.Option("--format", help="graphml | json (node-link).")] = "json",  # noqa: A002
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    store: StoreOpt = DEFAULT_STORE,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
    as_: AsOpt = None,
) -> None:
    """Export the whole graph (what --as may see) as GraphML or node-link JSON."""
    if format not in ("graphml", "json"):
        fail(f"unknown format {format!r}; valid: graphml, json")
    kit = _kit(store)
    who = principal_of(as_)
    text = kit.graph.export(output, format, principal=who)
    if output is not None:
        g = kit.graph.view(who).nx
        emit({"output": str(output), "format": format, "nodes": g.number_of_nodes(), "edges": g.number_of_edges()},
             json, f"wrote {output}")
    else:
        import sys

        sys.stdout.write(text + "\n")


@graph_app.command("merge")
def merge(
    alias: Annotated[Optional[str], typer.Argument(help="Entity to merge (omit to merge by embedding similarity).")] = None,
    into: Annotated[Optional[str], typer.Argument(help="Entity it is an alias of.")] = None,
    threshold: Annotated[Optional[float], typer.Option("--threshold", help="Cosine threshold (default: config).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the merges without recording them.")] = False,
    store: StoreOpt = DEFAULT_STORE,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Merge aliases: ALIAS INTO by hand, or every pair whose name embeddings pass the threshold."""
    kit = _kit(store)
    if alias and into:
        merges = [kit.graph.merge_names(alias, into)]
    elif alias or into:
        fail("give both ALIAS and INTO, or neither")
    elif dry_run:
        merges = kit.graph.propose_merges(threshold)
    else:
        merges = kit.graph.merge(threshold=threshold)
    emit(merges, json, "\n".join(f"{m['alias']} -> {m['canonical']} ({m['score']})" for m in merges) or "no merges")


@graph_app.command("unmerge")
def unmerge(
    aliases: Annotated[Optional[list[str]], typer.Argument(help="Aliases to split off again (default: all).")] = None,
    store: StoreOpt = DEFAULT_STORE,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Undo recorded merges (every merge when no alias is given)."""
    n = _kit(store).graph.unmerge(aliases or None)
    emit({"undone": n}, json, f"undid {n} merge(s)")


@graph_app.command("rebuild")
def rebuild(
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for another writer.")] = 0.0,
    store: StoreOpt = DEFAULT_STORE,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Re-extract the whole graph from the stored documents (after changing [graph] settings)."""
    import ragkit
    from ragkit.cli.common import progress_bar
    from ragkit.store import StoreLockedError

    kit = ragkit.open(store)
    try:
        with progress_bar(quiet) as update:
            data = kit.graph.rebuild(progress=update, wait=wait)
    except StoreLockedError as exc:
        fail(str(exc))
    emit(data, json, f"rebuilt the graph of {data['documents']} documents: {data['entities']} entities")


def register(app: typer.Typer) -> None:
    app.add_typer(graph_app, name="graph")
