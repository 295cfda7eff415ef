"""``evorec chat --user 42 [--llm URL|none]``: a terminal REPL over the agent, streaming its work."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer

from evorec.agent import describe_constraints
from evorec.serving.cli.output import console, print_event, render_answer
from evorec.serving.cli.runtime import DatasetOpt, LlmOpt, agent_runtime, settings_for


def register(app: typer.Typer) -> None:
    @app.command("chat")
    def chat(
        user: Annotated[str, typer.Option("--user", "-u", help="The user this session is bound to.")],
        llm: LlmOpt = None,
        dataset: DatasetOpt = None,
        session: Annotated[str | None, typer.Option(help="Resume a session id (default: a new one).")] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Hide tool calls.")] = False,
    ) -> None:
        """Chat with the agent about one user: stated preferences persist across turns (/help for commands)."""
        settings = settings_for(llm, dataset)
        sid = session or f"cli-{uuid.uuid4().hex[:10]}"
        with agent_runtime(settings) as (svc, llm_desc):
            console.print(f"[bold]evorec chat[/bold] · user {user} · session {sid} · LLM: {llm_desc}\n"
                          "[dim]/prefs shows preferences in force, /reset starts a new session, /quit exits[/dim]")
            while True:
                try:
                    line = console.input("[bold cyan]you>[/bold cyan] ").strip()
                except EOFError:
                    break
                if not line:
                    continue
                if line in {"/quit", "/exit", "/q"}:
                    break
                if line == "/help":
                    console.print("/prefs · /reset · /quit; anything else is a message to the agent")
                    continue
                if line == "/prefs":
                    try:
                        console.print(describe_constraints(svc.get_session(sid).constraints))
                    except Exception:
                        console.print("no preferences yet")
                    continue
                if line == "/reset":
                    sid = f"cli-{uuid.uuid4().hex[:10]}"
                    console.print(f"new session {sid}")
                    continue
                final, started = None, False
                for ev in svc.chat_stream(sid, user, line):
                    if ev.type == "final":
                        final = ev.recommendations
                        continue
                    if ev.type == "token" and not started:
                        console.print("[bold green]evorec>[/bold green] ", end="")
                        started = True
                    print_event(ev, verbose=not quiet)
                console.print()
                if final is not None:
                    render_answer(final)
