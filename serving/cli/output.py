"""Output shared by the CLI commands: one result as a rich view or JSON (optionally a PNG chart), the agent's
answer as a table, the agent's streamed events."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from evorec.agent import AgentEvent, Recommendations, describe_constraints

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


console = Console()
err = Console(stderr=True)


def render_answer(rec: Recommendations, out: Console = console) -> None:
    if rec.items:
        t = Table(show_header=True, header_style="bold", expand=False)
        for col in ("#", "item", "year", "categories", "why", "by"):
            t.add_column(col, overflow="fold")
        for it in rec.items:
            why = it.rationale.text + (f" [dim]({', '.join(it.rationale.evidence_ids[:3])})[/dim]"
                                       if it.rationale.evidence_ids else "")
            t.add_row(str(it.rank), f"{it.title} [dim]{it.item_id}[/dim]", str(it.year or ""),
                      "/".join(it.categories), why, it.rationale.source)
        out.print(t)
    if rec.interest_summary:
        out.print(f"[bold]Interests:[/bold] {rec.interest_summary} [dim]({rec.interest_summary_source})[/dim]")
    notes = [f"constraints: {describe_constraints(rec.constraints)}", f"LLM calls: {rec.llm_calls}",
             f"{rec.timings_ms.get('total', 0) / 1000:.1f}s"]
    if rec.cold_start:
        notes.append("cold start")
    if rec.degraded:
        notes.append(f"[yellow]degraded: {rec.degraded_reason}[/yellow]")
    if rec.shortfall:
        notes.append(f"shortfall: {rec.shortfall}")
    if rec.dropped:
        notes.append(f"validator: {len(rec.dropped)} removed/replaced")
    out.print("[dim]" + " · ".join(notes) + "[/dim]")


def print_event(ev: AgentEvent, verbose: bool = True) -> None:
    if ev.type == "tool_call" and verbose:
        args = ", ".join(f"{k}={v!r}" for k, v in (ev.arguments or {}).items())
        console.print(f"[dim]→ {ev.tool}({args}) [{ev.issued_by}][/dim]")
    elif ev.type == "tool_result" and verbose:
        mark = "ok" if ev.ok else f"[red]{(ev.summary or '')[:120]}[/red]"
        console.print(f"[dim]← {ev.tool} {mark} {ev.latency_ms or 0:.0f} ms[/dim]")
    elif ev.type == "token":
        console.print(ev.text or "", end="", highlight=False, markup=False, soft_wrap=True)
    elif ev.type == "error":
        err.print(f"[red]error:[/red] {ev.text}")
