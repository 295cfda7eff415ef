"""``evorec chat --user 42 [--llm URL|none]``: a terminal REPL over the agent, streaming its work.

Also home of :func:`agent_runtime`, shared by ``ask`` and ``eval-agent``: open the toolbox, find
or start the LLM (the local llama.cpp server when no endpoint is configured; stopped on exit).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from evorec.agent.answer import Recommendations
from evorec.agent.events import AgentEvent
from evorec.agent.llm import OpenAIChatModel
from evorec.agent.service import AgentService, describe_constraints
from evorec.errors import LLMUnavailableError
from evorec.serving.llm.launcher import LLMEndpoint
from evorec.settings import Settings, get_settings

console = Console()
err = Console(stderr=True)

LlmOpt = Annotated[str | None, typer.Option("--llm", help="OpenAI-compatible endpoint URL, or 'none' for the "
                                            "plan-first executor. Default: settings, else the local server.")]
DatasetOpt = Annotated[str | None, typer.Option("--dataset", help="Dataset the tools serve (default: settings).")]


def settings_for(llm: str | None, dataset: str | None = None) -> Settings:
    over: dict[str, Any] = {"dataset": dataset}
    if llm is not None:
        if llm.strip().lower() in {"none", "off", ""}:
            over["llm"] = "none"
        else:
            over.update(llm="endpoint", llm_url=llm.strip())
    return get_settings().with_overrides(**over)


@contextmanager
def agent_runtime(settings: Settings, quiet: bool = False) -> Iterator[tuple[AgentService, str]]:
    """(service, description of the LLM in use). Starts and stops the local LLM server if needed."""
    from evorec.serving.llm.launcher import local_llm
    from evorec.tools.toolbox import Toolbox

    with err.status(f"opening the toolbox ({settings.dataset})…", spinner="dots") if not quiet else _null():
        toolbox = Toolbox.open(settings, settings.dataset)
    try:
        starting = settings.llm != "none" and not settings.llm_url
        with (err.status("starting the local LLM server…") if starting and not quiet else _null()), \
                local_llm(settings) as endpoint:
            if endpoint is None:
                svc = AgentService(toolbox, settings.with_overrides(llm="none"))
                yield svc, "none (plan-first executor)"
            else:
                llm = OpenAIChatModel(endpoint.base_url, endpoint.model, settings.llm_api_key.get_secret_value(),
                                      settings.llm_timeout_s)
                svc = AgentService(toolbox, settings, llm=llm)
                _warm(endpoint, svc, quiet)
                yield svc, f"{endpoint.model} at {endpoint.base_url}"
    finally:
        close = getattr(toolbox, "close", None)
        if callable(close):
            close()


def _warm(endpoint: LLMEndpoint, svc: AgentService, quiet: bool) -> None:
    """Evaluate the agent's system prompt + tools once, so the first turn pays only for its own tokens.
    A failure is not fatal here: the turn itself then degrades and says why."""
    from evorec.serving.llm.launcher import warm_up

    try:
        with err.status("warming up the LLM (system prompt + tools)…") if not quiet else _null():
            warm_up(endpoint, *svc.llm_prefix(), timeout_s=max(float(svc.settings.llm_timeout_s), 60.0))
    except LLMUnavailableError as e:
        err.print(f"[yellow]LLM warm-up failed: {e}[/yellow]")


@contextmanager
def _null() -> Iterator[None]:
    yield


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
