"""``evorec trends USER``: per-category interest trends (statsmodels) as a table, optionally a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from evorec.settings import get_settings

if TYPE_CHECKING:
    from evorec.tools import UserTrends

console = Console()
COLORS = {"emerging": "bold green", "rising": "green", "stable": "white", "fading": "yellow", "dormant": "red"}


def _events_from_store(settings, user: str) -> list:  # type: ignore[no-untyped-def]
    from evorec.tools import HistoryStore

    return list(HistoryStore.open(settings, settings.dataset).user_history(user).events)


def _events_from_dataset(settings, user: str, path: Path | None) -> list:  # type: ignore[no-untyped-def]
    from evorec.tools import load_dataset

    ds = load_dataset(settings.dataset, path=path, settings=settings)
    cats = dict(zip(ds.items["item_id"], ds.items["categories"], strict=True))
    ev = ds.user_events(user)
    return [(int(ts), list(cats[i]), f"{user}:{row}") for ts, i, row in zip(ev["ts"], ev["item_id"], ev["row"],
                                                                               strict=True)]


def register(app: typer.Typer) -> None:
    @app.command()
    def trends(
        user: Annotated[str, typer.Argument(help="User id.")],
        dataset: Annotated[str | None, typer.Option(help="Dataset (default settings.dataset).")] = None,
        source: Annotated[str, typer.Option(help="Where the events come from: 'store' (the history store) or "
                                            "'dataset' (the dataset files, no store needed).")] = "store",
        path: Annotated[Path | None, typer.Option(help="Dataset directory (csv; with --source dataset).")] = None,
        png: Annotated[Path | None, typer.Option(help="Also write the trend chart to this PNG.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the UserTrends as JSON.")] = False,
    ) -> None:
        """Per-category trends of USER's interests: level, slope, forecast interval, label, change points."""
        from evorec.errors import InvalidRequestError
        from evorec.serving.cli.output import show_result
        from evorec.tools import TrendService, plot_user_trends

        if source not in ("store", "dataset"):
            raise InvalidRequestError(f"--source must be 'store' or 'dataset', got {source!r}")
        settings = get_settings().with_overrides(dataset=dataset)
        events = _events_from_store(settings, user) if source == "store" else \
            _events_from_dataset(settings, user, path)
        result = TrendService().user_trends(user, events)
        if not events and source == "store" and not as_json:
            Console(stderr=True).print(f"the history store has no events of user {user} in dataset "
                                       f"{settings.dataset}: run `evorec ingest --dataset {settings.dataset}` or use "
                                       "--source dataset", highlight=False)
        show_result(result, as_json=as_json, view=print_trends, png=png, plot=plot_user_trends)


def print_trends(t: UserTrends) -> None:
    if not t.ok:
        console.print(f"[bold]user {t.user_id}[/bold]: insufficient history ({t.reason})", highlight=False)
        return
    console.print(f"[bold]user {t.user_id}[/bold]: {t.n_events} events {t.first_date} → {t.last_date}, "
                  f"{len(t.bucket_edges) - 1} buckets of {t.bucket_label}; recent window = last {t.recent_label}",
                  highlight=False)
    pct = round(100 * t.interval_level)
    tab = Table(title=f"interest trends (forecast = next {t.recent_label}, {pct} % interval of the expected share)")
    for col, just in (("category", "left"), ("label", "left"), ("before", "right"), ("recent", "right"),
                      ("forecast", "right"), ("slope/bucket", "right"), ("change point", "left"), ("model", "left")):
        tab.add_column(col, justify=just)  # type: ignore[arg-type]
    for c in t.categories:
        f = c.forecast
        style = COLORS[c.label]
        cp = ""
        if c.change is not None:
            kind = "switch" if c.change.sudden else f"drift to {c.change.end}"
            cp = f"{c.change.date} {kind} {100 * c.change.before:.0f}→{100 * c.change.after:.0f}%"
        tab.add_row(c.category, f"[{style}]{c.label}[/{style}]", f"{100 * c.reference_share:.0f}%",
                    f"{100 * c.recent_share:.0f}%",
                    f"{100 * f.window_mean:.0f}% [{100 * f.window_lower:.0f}–{100 * f.window_upper:.0f}]",
                    f"{100 * c.slope:+.1f} pts", cp, c.model)
    console.print(tab)
    for s in t.switches:
        console.print(f"switch on {s.date}: {', '.join(s.from_categories)} → {', '.join(s.to_categories)}",
                      highlight=False)
    console.print(f"[dim]computed in {t.elapsed_ms:.1f} ms[/dim]")
