"""``evorec recommend USER``: the fused ranked list with scores, sources and template rationales."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from evorec.settings import get_settings

if TYPE_CHECKING:
    from evorec.tools import RankedList

console = Console()
err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def recommend(
        user: Annotated[str, typer.Argument(help="User id (unknown users get a cold-start list).")],
        k: Annotated[int, typer.Option("-k", "--k", help="How many items (1..100).")] = 10,
        dataset: Annotated[str | None, typer.Option(help="Dataset (default settings.dataset).")] = None,
        path: Annotated[Path | None, typer.Option(help="Dataset directory (needed for csv).")] = None,
        exclude_genre: Annotated[list[str] | None, typer.Option("--exclude-genre", help="Never these (repeat).")]
        = None,
        include_genre: Annotated[list[str] | None, typer.Option("--include-genre", help="Each item has one of these "
                                                                                       "(repeat).")] = None,
        unseen: Annotated[bool, typer.Option("--unseen/--allow-seen", help="Exclude items the user has seen.")]
        = True,
        year_min: Annotated[int | None, typer.Option(help="Earliest release year.")] = None,
        year_max: Annotated[int | None, typer.Option(help="Latest release year.")] = None,
        exclude_item: Annotated[list[str] | None, typer.Option("--exclude-item", help="Item id blocklist (repeat).")]
        = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the RankedList as JSON.")] = False,
    ) -> None:
        """Rank items for USER under hard constraints, with the evidence-built rationale of each."""
        from pydantic import ValidationError

        from evorec.errors import InvalidRequestError
        from evorec.tools import Constraints, Toolbox

        try:
            c = Constraints(k=k, exclude_seen=unseen, include_categories=include_genre or [],
                            exclude_categories=exclude_genre or [], year_min=year_min, year_max=year_max,
                            exclude_items=exclude_item or [])
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or "constraints"
            raise InvalidRequestError(f"{where}: {first['msg']}") from None
        settings = get_settings().with_overrides(dataset=dataset)
        tb = Toolbox.open(settings, settings.dataset, path=path)
        ranked = tb.rank_candidates(user, c)
        if as_json:
            typer.echo(ranked.model_dump_json(indent=2))
        else:
            _print(ranked, tb.fusion_info)


def _print(r: RankedList, fusion: dict) -> None:
    head = "cold start (no history): popularity and catalog trends" if r.cold_start else "fused ranking"
    how = f"fusion {fusion.get('kind')}" if fusion.get("fitted") else "no fitted fusion weights: forecaster order"
    console.print(f"[bold]user {r.user_id}[/bold]: {head} ({how}); {r.timings_ms.get('total', 0):.1f} ms",
                  highlight=False)
    t = Table()
    t.add_column("#", justify="right")
    t.add_column("item")
    t.add_column("title")
    t.add_column("categories")
    t.add_column("year", justify="right")
    t.add_column("score", justify="right")
    t.add_column("sources")
    for it in r.items:
        t.add_row(str(it.rank), it.item_id, it.title, ", ".join(it.categories), str(it.year or ""),
                  f"{it.score:.3f}", ", ".join(it.sources))
    console.print(t)
    console.print("[bold]why[/bold] (template rationales, built from the cited evidence only):")
    for it in r.items:
        console.print(f"{it.rank:>3}. {it.template_rationale} [dim]{' '.join(it.evidence_ids[:3])}[/dim]",
                      highlight=False)
    if r.shortfall:
        err.print(f"[yellow]shortfall:[/yellow] {r.shortfall}", highlight=False)
