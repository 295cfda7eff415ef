"""``evorec eval-preferences``: exact constraint extraction on the labelled request set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evorec.errors import InvalidRequestError


def register(app: typer.Typer) -> None:
    @app.command("eval-preferences")
    def eval_preferences(
        path: Annotated[Path | None, typer.Option("--set", help="Labelled JSONL (default: the bundled "
                                                  "evals/preference_set/requests.jsonl).")] = None,
        json_out: Annotated[Path | None, typer.Option("--json", help="Also write the report as JSON here.")] = None,
        min_exact: Annotated[float, typer.Option(help="Exit 1 when the exact rate is below this.")] = 0.0,
    ) -> None:
        """Score the deterministic preference reader on labelled requests (English and Chinese)."""
        from evorec.evals.preference_eval import SET_PATH, render, run, to_json

        p = path or SET_PATH
        if not p.is_file():
            raise InvalidRequestError(f"no labelled set at {p}")
        try:
            rep = run(p)
        except ValueError as e:
            raise InvalidRequestError(f"{p}: {str(e).splitlines()[0]}") from e
        typer.echo(render(rep))
        if json_out:
            json_out.write_text(to_json(rep), encoding="utf-8")
        if rep.exact < min_exact:
            raise typer.Exit(1)
