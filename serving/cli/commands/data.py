"""Data commands: ``ingest``, ``history``, ``items search``, ``data generate``, ``info``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from evorec.errors import NotFoundError
from evorec.settings import Settings, get_settings

if TYPE_CHECKING:  # chroma is slow to import: commands import the store lazily
    from evorec.tools import CategoryCounts, HistoryStore

out = Console()
err = Console(stderr=True)

HomeOpt = Annotated[Path | None, typer.Option("--home", help="EVOREC_HOME: store, data, artifacts.")]
DatasetOpt = Annotated[str | None, typer.Option("--dataset", help="synthetic | ml-100k | csv (default settings).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _settings(home: Path | None, dataset: str | None = None) -> Settings:
    return get_settings().with_overrides(home=home, dataset=dataset)


def _open_ingested(settings: Settings) -> HistoryStore:
    from evorec.tools import HistoryStore, ingested_datasets

    hint = f"run: evorec ingest --dataset {settings.dataset}"
    if settings.dataset not in ingested_datasets(settings):
        raise NotFoundError(f"dataset {settings.dataset!r} is not ingested at {settings.chroma_dir}; {hint}")
    store = HistoryStore.open(settings, settings.dataset)
    if not store.is_ingested:
        raise NotFoundError(f"dataset {settings.dataset!r} is only partly ingested at {store.location}; {hint}")
    return store


def _print_counts(cc: CategoryCounts, as_json: bool) -> None:
    if as_json:
        out.print_json(cc.model_dump_json())
        return
    if not cc.known:
        err.print(f"User {cc.user_id} has no recorded history (cold start).", highlight=False)
        raise typer.Exit(1)
    cats = sorted(cc.counts, key=lambda c: -sum(cc.counts[c]))
    t = Table(title=f"user {cc.user_id}: events per category per {cc.bucket}")
    t.add_column("from", no_wrap=True, min_width=10)
    t.add_column("events", justify="right", no_wrap=True, min_width=6)
    for col in cats:
        t.add_column(col, justify="right")
    for i, start in enumerate(cc.starts):
        t.add_row(start, str(cc.totals[i]), *(str(cc.counts[c][i] or "") for c in cats))
    out.print(t)


def register(app: typer.Typer) -> None:
    data_app = typer.Typer(help="Generate datasets.", no_args_is_help=True)
    items_app = typer.Typer(help="The item catalog.", no_args_is_help=True)
    app.add_typer(data_app, name="data")
    app.add_typer(items_app, name="items")

    @app.command()
    def ingest(
        dataset: DatasetOpt = None,
        path: Annotated[Path | None, typer.Option(help="Dataset directory (csv: required; ml-100k: GroupLens "
                                                       "files; synthetic: generated there if absent).")] = None,
        home: HomeOpt = None,
        progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress bars.")] = True,
    ) -> None:
        """Load a dataset and upsert its items and events into the history store (idempotent, resumable)."""
        from evorec.tools import HistoryStore, load_dataset

        settings = _settings(home, dataset)
        ds = load_dataset(settings.dataset, path=path, settings=settings)
        err.print(f"dataset [bold]{ds.name}[/bold]: {ds.n_users} users, {ds.n_items} items, "
                  f"{len(ds.interactions)} events from {ds.source}", highlight=False)
        store = HistoryStore.open(settings, ds.name)
        report = store.ingest(ds, progress=progress)
        t = Table(title=f"ingested {ds.name} → {store.location}", show_header=False)
        t.add_row("items (embedded now)", f"{report.items_total} ({report.items_embedded})")
        t.add_row("events written / already there", f"{report.events_written} / {report.events_skipped}")
        t.add_row("users", str(report.users_touched))
        if report.events_forgotten:
            t.add_row("left out", f"{report.events_forgotten} events of forgotten users")
        if report.replaced:
            t.add_row("replaced", "the store held another version of this dataset and was rebuilt")
        t.add_row("time", f"{report.seconds:.1f} s")
        out.print(t)

    @app.command()
    def history(
        user: Annotated[str, typer.Argument(help="User id.")],
        dataset: DatasetOpt = None,
        home: HomeOpt = None,
        since: Annotated[str | None, typer.Option(help="From this time (unix seconds or ISO date), inclusive.")]
        = None,
        until: Annotated[str | None, typer.Option(help="Up to this time (unix seconds or ISO date), exclusive.")]
        = None,
        limit: Annotated[int | None, typer.Option(min=0, help="Keep only the most recent N events.")] = 20,
        query: Annotated[str | None, typer.Option(help="Semantic search inside the user's history.")] = None,
        k: Annotated[int, typer.Option(min=1, max=500, help="Results for --query.")] = 10,
        by: Annotated[str | None, typer.Option(help="Category counts per 'week' or 'month' instead of events.")]
        = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Show USER's events, oldest first (or those closest to --query, best first; or counts --by month)."""
        store = _open_ingested(_settings(home, dataset))
        if by is not None:
            _print_counts(store.category_counts(user, bucket=by, since=since, until=until), as_json)
            return
        if query is not None:
            h = store.search_user_history(user, query, k=k, since=since, until=until)
        else:
            h = store.user_history(user, since=since, until=until, limit=limit)
        if as_json:
            out.print_json(h.model_dump_json())
            return
        if not h.known:
            err.print(h.summary(), highlight=False)
            raise typer.Exit(1)
        t = Table(title=h.summary() if query is None else f"user {h.user_id}: closest to {query!r}")
        for col in ("date", "item", "title", "categories", "rating") + (("similarity",) if query else ()):
            t.add_column(col)
        for e in h.events:
            row = [e.date, e.item_id, e.title, ", ".join(e.categories), "" if e.rating is None else f"{e.rating:g}"]
            if query:
                row.append(f"{e.similarity:.3f}")
            t.add_row(*row)
        out.print(t)
        if query is None and h.total_events > len(h.events):
            err.print(f"showing the last {len(h.events)} of {h.total_events} events (--limit)", highlight=False)

    @items_app.command("search")
    def items_search(
        text: Annotated[str, typer.Argument(help="What to look for, in words.")],
        k: Annotated[int, typer.Option("-k", "--k", min=1, max=200, help="How many items.")] = 10,
        dataset: DatasetOpt = None,
        home: HomeOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Semantic search over the item catalog."""
        hits = _open_ingested(_settings(home, dataset)).search_items(text, k=k)
        if as_json:
            out.print_json(json.dumps([h.model_dump() for h in hits]))
            return
        t = Table(title=f"items closest to {text!r}")
        for col in ("score", "item", "title", "categories", "year"):
            t.add_column(col)
        for h in hits:
            t.add_row(f"{h.score:.3f}", h.item_id, h.title, ", ".join(h.categories), str(h.year or ""))
        out.print(t)

    @data_app.command("generate")
    def generate(
        out_dir: Annotated[Path | None, typer.Option("--out", help="Directory (default EVOREC_HOME/data/synthetic).")]
        = None,
        seed: Annotated[int | None, typer.Option(help="Random seed (default settings.synthetic_seed).")] = None,
        users: Annotated[int, typer.Option(min=1, max=1_000_000, help="Number of users.")] = 400,
        items: Annotated[int, typer.Option(min=24, max=1_000_000, help="Number of items.")] = 800,
        home: HomeOpt = None,
    ) -> None:
        """Write a synthetic dataset with planted interest drift (generic CSV + drifts.json ground truth)."""
        from collections import Counter

        from evorec.tools import generate_synthetic, load_truth, synthetic_dir

        settings = get_settings().with_overrides(home=home, synthetic_seed=seed)
        target = out_dir or synthetic_dir(settings)
        with err.status(f"generating {users} users, {items} items …"):
            generate_synthetic(target, seed=settings.synthetic_seed, n_users=users, n_items=items)
        truth = load_truth(target)
        kinds = Counter(d.kind for d in truth.drifts)
        n_events = sum(d.n_events for d in truth.drifts)
        out.print(f"wrote {target} (seed {truth.seed}): {n_events} events; planted "
                  + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())), highlight=False)

    @app.command()
    def info(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
        """What is ingested and where: store location, datasets and counts, generated data, artifacts."""
        from evorec.tools import HistoryStore, ingested_datasets, synthetic_dir
        from evorec.tools import store_location as location

        settings = _settings(home)
        stats = [HistoryStore.open(settings, name).stats() for name in ingested_datasets(settings)]
        artifacts = sorted(p.name for p in settings.artifacts_root.iterdir() if p.is_dir()) \
            if settings.artifacts_root.is_dir() else []
        facts: dict[str, Any] = {
            "home": str(settings.home), "store": f"{settings.chroma_mode} {location(settings)}",
            "default_dataset": settings.dataset,
            "synthetic_data": str(synthetic_dir(settings)) if (synthetic_dir(settings) / "drifts.json").is_file()
            else "not generated yet",
            "ml100k_path": f"{settings.ml100k_path} "
                           f"({'present' if (settings.ml100k_path / 'u.data').is_file() else 'absent'})",
            "artifacts": {a: sorted(p.name for p in (settings.artifacts_root / a).iterdir()) for a in artifacts},
        }
        if as_json:
            out.print_json(json.dumps({**facts, "datasets": [s.model_dump() for s in stats]}))
            return
        t = Table(title="evorec", show_header=False)
        for key, value in facts.items():
            if key != "artifacts":
                t.add_row(key, str(value))
        for a, files in facts["artifacts"].items():
            t.add_row(f"artifacts/{a}", ", ".join(files) or "(empty)")
        out.print(t)
        d = Table(title="ingested datasets")
        for col in ("dataset", "items", "events", "users", "complete", "ingested at", "fingerprint"):
            d.add_column(col)
        for s in stats:
            d.add_row(s.dataset, str(s.items), str(s.events), str(s.users_at_ingest or ""),
                      "yes" if s.complete else "NO (rerun ingest)", s.ingested_at or "", s.fingerprint or "")
        if not stats:
            d.add_row("(none)", "", "", "", "", "", "run: evorec ingest --dataset synthetic")
        out.print(d)
