"""Output shared by the CLI commands that show one result: a rich view or JSON, and optionally a PNG chart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console

R = TypeVar("R", bound=BaseModel)


def show_result(result: R, *, as_json: bool, view: Callable[[R], None], png: Path | None = None,
                plot: Callable[[R, Path], Path] | None = None) -> None:
    """Print ``result`` as JSON (``--json``) or with ``view``; with ``png``, also draw it with ``plot``."""
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        view(result)
    if png is not None and plot is not None:
        out = plot(result, png)
        Console(stderr=True).print(f"wrote {out}", highlight=False)
