"""``evorec forecast USER``: top next items and the category mix now vs forecast."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from evorec.settings import get_settings

if TYPE_CHECKING:
    from evorec.tools import InterestForecast

console = Console()


def register(app: typer.Typer) -> None:
    @app.command()
    def forecast(
        user: Annotated[str, typer.Argument(help="User id (unknown users get a cold-start forecast).")],
        dataset: Annotated[str | None, typer.Option(help="Dataset (default settings.dataset).")] = None,
        path: Annotated[Path | None, typer.Option(help="Dataset directory (needed for csv).")] = None,
        k: Annotated[int, typer.Option("-k", "--k", min=1, max=100, help="Number of top items.")] = 10,
        png: Annotated[Path | None, typer.Option(help="Also write a bar chart of the mix to this PNG.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the InterestForecast as JSON.")] = False,
    ) -> None:
        """Forecast USER's next items and category mix from their history in the dataset."""
        from evorec.serving.cli.output import show_result
        from evorec.tools import ForecastService, load_dataset, plot_mix, served_dataset

        settings = get_settings().with_overrides(dataset=dataset)
        # the data the forecaster was trained on: the files plus the store's events at training time
        ds = served_dataset(settings, load_dataset(settings.dataset, path=path, settings=settings))
        svc = ForecastService.load(settings, ds)
        ev = ds.user_events(user)
        history = svc.history_from_events(ev["item_id"].tolist(), ev["ts"].tolist()) if len(ev) else None
        show_result(svc.forecast(user, history, k=k), as_json=as_json, view=_print, png=png, plot=plot_mix)


def _print(fc: InterestForecast) -> None:
    head = "cold start (no history): population mix and most popular items" if fc.cold_start else \
        f"{fc.n_events} events in history"
    console.print(f"[bold]user {fc.user_id}[/bold] ({fc.dataset}): {head}", highlight=False)
    items = Table(title="top predicted next items")
    items.add_column("#", justify="right")
    items.add_column("item")
    items.add_column("title")
    items.add_column("categories")
    items.add_column("score" if not fc.cold_start else "events", justify="right")
    for r, it in enumerate(fc.top_items, start=1):
        items.add_row(str(r), it.item_id, it.title, ", ".join(it.categories), f"{it.score:.3f}")
    console.print(items)
    mix = Table(title=f"category mix: last {fc.horizon} events vs forecast for the next {fc.horizon}")
    mix.add_column("category")
    mix.add_column("now", justify="right")
    mix.add_column("forecast", justify="right")
    mix.add_column("change", justify="right")
    cats = sorted(set(fc.current_mix) | set(fc.forecast_mix),
                  key=lambda c: -max(fc.current_mix.get(c, 0.0), fc.forecast_mix.get(c, 0.0)))
    for c in cats:
        now, nxt = fc.current_mix.get(c, 0.0), fc.forecast_mix.get(c, 0.0)
        if max(now, nxt) < 0.01:
            continue
        d = nxt - now
        color = "green" if d >= 0.05 else "red" if d <= -0.05 else "white"
        mix.add_row(c, f"{100 * now:.0f}%", f"{100 * nxt:.0f}%", f"[{color}]{100 * d:+.0f} pts[/{color}]")
    console.print(mix)
