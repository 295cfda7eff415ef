"""``evorec ask --user 42 "..." [--json] [--llm URL|none]``: one question, one answer."""

from __future__ import annotations

from typing import Annotated

import typer

from evorec.serving.cli.output import console, render_answer
from evorec.serving.cli.runtime import DatasetOpt, LlmOpt, agent_runtime, settings_for
from evorec.tools import Constraints


def register(app: typer.Typer) -> None:
    @app.command("ask")
    def ask(
        question: Annotated[str, typer.Argument(help="e.g. 'what should I watch tonight? no horror'")],
        user: Annotated[str, typer.Option("--user", "-u", help="The user to answer for.")],
        llm: LlmOpt = None,
        dataset: DatasetOpt = None,
        k: Annotated[int, typer.Option(min=1, max=100, help="How many items (a count in the question wins).")] = 10,
        as_json: Annotated[bool, typer.Option("--json", help="Print the structured answer as JSON.")] = False,
    ) -> None:
        """Ask the agent one question about one user (preferences in the question are hard constraints)."""
        settings = settings_for(llm, dataset)
        with agent_runtime(settings, quiet=as_json) as (svc, _):
            rec = svc.ask(user, question, Constraints(k=k))
        if as_json:
            print(rec.model_dump_json(indent=2))
            return
        if rec.message:
            console.print(rec.message, highlight=False)
        render_answer(rec)
