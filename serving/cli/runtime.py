"""The CLI's shared agent runtime: settings from ``--llm``/``--dataset``, and :func:`agent_runtime`, which opens the
toolbox and finds or starts the LLM (the local llama.cpp server when no endpoint is configured; stopped on exit).
Used by ``chat``, ``ask``, ``eval-agent`` and ``demo``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console

from evorec.agent import AgentService, OpenAIChatModel
from evorec.errors import LLMUnavailableError
from evorec.serving.llm.launcher import LLMEndpoint
from evorec.settings import Settings, get_settings

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
    from evorec.tools import Toolbox

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
                endpoint = endpoint._replace(model=llm.served_model())
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
            warm_up(endpoint, *svc.llm_prefix(), timeout_s=max(float(svc.settings.llm_timeout_s), 60.0),
                    api_key=svc.settings.llm_api_key.get_secret_value())
    except LLMUnavailableError as e:
        err.print(f"[yellow]LLM warm-up failed: {e}[/yellow]")


@contextmanager
def _null() -> Iterator[None]:
    yield
