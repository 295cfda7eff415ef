"""``evorec serve``: the HTTP API, the OpenAI-compatible facade and the web page."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from evorec.settings import get_settings

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str | None, typer.Option(help="Interface to bind (default settings.host, 127.0.0.1). "
                                                      "Without API keys only loopback is allowed.")] = None,
        port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default settings.port, 8321).")] = None,
        workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes. More than one needs the "
                                                                 "store over HTTP (see --start-chroma).")] = 1,
        start_chroma: Annotated[bool, typer.Option("--start-chroma", help="With --workers > 1 and an embedded "
                                                   "store: run `chroma run` on it and let workers use HTTP.")] = False,
        dataset: Annotated[str | None, typer.Option(help="Dataset to serve (default settings.dataset).")] = None,
        llm_url: Annotated[str | None, typer.Option(help="OpenAI-compatible LLM endpoint; empty = plan-first only.")]
        = None,
        log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    ) -> None:
        """Serve the API (OpenAPI docs at /docs) and the web chat page at /."""
        from evorec.serving.api.server import serve as run

        settings = get_settings().with_overrides(dataset=dataset, llm_url=llm_url,
                                                 llm="endpoint" if llm_url else None)
        run(settings, host or settings.host, port or settings.port, workers=workers, start_chroma=start_chroma,
            log_level=log_level, say=lambda msg: console.print(msg, highlight=False, soft_wrap=True))
