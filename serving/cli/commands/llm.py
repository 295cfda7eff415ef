"""``evorec llm serve|check|models`` — run an OpenAI-compatible LLM server, probe any endpoint."""

from __future__ import annotations

import signal
from enum import StrEnum
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from evorec.errors import InvalidRequestError
from evorec.settings import get_settings

console = Console()


class Backend(StrEnum):
    llamacpp = "llamacpp"
    vllm = "vllm"


def _term_as_interrupt() -> None:
    """SIGTERM raises KeyboardInterrupt, so the server is stopped also when the signal comes while it starts
    (the launchers stop their child on any exception; vLLM runs in its own process group and would outlive us)."""

    def _term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)


def _wait_forever(proc: Any) -> None:
    """Block until the server exits or Ctrl-C / SIGTERM; then stop it."""
    from evorec.serving.llm.launcher import stop_process

    _term_as_interrupt()
    try:
        proc.wait()
    except KeyboardInterrupt:
        console.print("stopping the LLM server")
    finally:
        stop_process(proc)
    if proc.returncode not in (0, -15, None):
        raise typer.Exit(proc.returncode if proc.returncode > 0 else 1)


def serve(
    backend: Backend | None = typer.Option(None, help="llamacpp: our llama.cpp server (CPU, packaged GGUF); vllm: vLLM "
                                           "on CPU or GPU (found at start). Default: settings.llm_backend."),
    model: str | None = typer.Option(None, help="Packaged model key (default); llamacpp: or a .gguf path; "
                                     "vllm: or an HF id/path."),
    host: str = typer.Option("127.0.0.1", help="Bind address."),
    port: int = typer.Option(8081, min=1, max=65535, help="Port."),
    ctx: int = typer.Option(8192, min=512, help="Context window (tokens)."),
    tool_call_parser: str | None = typer.Option(None, help="vllm: override the parser chosen by model family."),
    tensor_parallel_size: int = typer.Option(1, min=1, help="vllm: GPUs per model replica."),
    dtype: str | None = typer.Option(None, help="vllm: dtype (default: settings.vllm_dtype, else vLLM's choice)."),
    dry_run: bool = typer.Option(False, help="Print the server command and exit."),
) -> None:
    """Start an OpenAI-compatible LLM server, wait until it is healthy, print its endpoint, run until Ctrl-C."""
    settings = get_settings()
    _term_as_interrupt()
    if backend is None:
        from evorec.serving.llm.launcher import pick_backend

        backend = Backend(pick_backend(settings, model) or "llamacpp")
    if backend is Backend.vllm:
        from evorec.serving.llm.vllm import (
            build_vllm_command,
            config_from_settings,
            detect_device,
            find_vllm,
            start_vllm,
        )

        cfg = config_from_settings(settings, model, host=host, port=port, tool_call_parser=tool_call_parser,
                                   tensor_parallel_size=tensor_parallel_size, max_model_len=ctx, dtype=dtype)
        install = find_vllm(settings)
        if dry_run:
            python, device = (str(install.python), detect_device(install)) if install else ("python", "cpu")
            console.print(" ".join(build_vllm_command(cfg, python, device)), highlight=False, soft_wrap=True)
            return
        where = f"{detect_device(install)} ({install.distribution} {install.version})" if install else "?"
        console.print(f"starting vLLM on {where} for {cfg.model_name} (tool-call parser {cfg.tool_call_parser}) ...")
        try:
            server = start_vllm(cfg, settings)
        except KeyboardInterrupt:  # start_vllm stopped the server already
            raise typer.Exit(130) from None
    else:
        from evorec.serving.llm.launcher import llm_threads, local_server_command, start_local_server
        from evorec.serving.llm.model_package import resolve_model

        if tool_call_parser or dtype:
            raise InvalidRequestError("--tool-call-parser and --dtype apply to --backend vllm only")
        if dry_run:
            r = resolve_model(settings, model)
            cmd = local_server_command(r.path, r.model_id, host, port, llm_threads(settings), ctx,
                                       settings.llm_grammar)
            console.print(" ".join(cmd), highlight=False, soft_wrap=True)
            return
        console.print("starting the local llama.cpp server ...")
        server = start_local_server(settings, model, host=host, port=port, ctx=ctx)
    console.print(
        f"[green]ready[/green] OpenAI-compatible endpoint: {server.endpoint.base_url}  "
        f"model: {server.endpoint.model}  (log: {server.log})",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"use it: EVOREC_LLM_URL={server.endpoint.base_url} EVOREC_LLM_MODEL={server.endpoint.model}",
        highlight=False,
        soft_wrap=True,
    )
    _wait_forever(server.process)


def _report_table(report: Any) -> Table:
    t = Table(title=f"LLM probe: {report.base_url} ({report.model})")
    t.add_column("check")
    t.add_column("result")
    t.add_column("detail", overflow="fold")
    t.add_row("reachable", "yes" if report.reachable else "NO", ", ".join(report.served_models))
    for c in report.tool_calls:
        mark = "ok" if c.right_tool else ("wrong tool" if c.well_formed else "NO CALL" if not c.error else "ERROR")
        detail = f"expected {c.expected_tool}, got {c.called} {c.arguments or ''} in {c.latency_s:.1f}s"
        t.add_row(f"tool call: {c.question[:48]}", mark, c.error or detail)
    t.add_row("well-formed tool calls", f"{report.well_formed_rate:.0%}", "")
    t.add_row("right tool", f"{report.right_tool_rate:.0%}", "")
    if report.call_latency_p50_s is not None:
        t.add_row("tool-call latency p50", f"{report.call_latency_p50_s:.2f}s", "")
    rt = f"{report.round_trip_latency_s:.1f}s" if report.round_trip_latency_s else ""
    t.add_row("tool round trip + JSON answer", "ok" if report.round_trip_ok else "FAIL",
              f"{report.round_trip_detail} {rt}".strip())  # fmt: skip
    t.add_row("JSON-schema output", "ok" if report.json_schema_ok else "FAIL", "")
    if report.ttft_s is not None:
        pt = f"{report.prompt_tokens_per_s:.0f}" if report.prompt_tokens_per_s else "n/a"
        gt = f"{report.generation_tokens_per_s:.1f}" if report.generation_tokens_per_s else "n/a"
        t.add_row("speed", f"{gt} tok/s gen", f"prompt {pt} tok/s, first token {report.ttft_s:.2f}s")
    for e in report.errors:
        t.add_row("error", "", e)
    return t


def check(
    url: str | None = typer.Option(None, help="Base URL (default: EVOREC_LLM_URL, else start the local server)."),
    model: str | None = typer.Option(None, help="Model name to request (default: EVOREC_LLM_MODEL / served)."),
    json_out: bool = typer.Option(False, "--json", help="Print the ProbeReport as JSON."),
) -> None:
    """Probe an OpenAI-compatible endpoint: tool calls, tool round trip, JSON-schema output, tokens/s."""
    from evorec.errors import LLMUnavailableError
    from evorec.serving.llm.launcher import local_llm, normalize_base_url
    from evorec.serving.llm.probe import probe_endpoint

    settings = get_settings()
    if url:
        settings = settings.with_overrides(llm_url=url, llm="endpoint")
    with local_llm(settings) as endpoint:
        if endpoint is None:
            raise LLMUnavailableError(
                "no LLM endpoint: set --url / EVOREC_LLM_URL, or install the local one (make llm)"
            )
        name = model or (endpoint.model if not url or endpoint.model != "local" else None)
        if name is None:
            from openai import OpenAI

            try:
                served = OpenAI(base_url=normalize_base_url(url or ""), api_key="x", max_retries=0).models.list()
                name = served.data[0].id
            except Exception as e:
                raise LLMUnavailableError(f"cannot list models at {url}: {type(e).__name__}") from None
        report = probe_endpoint(endpoint.base_url, name, api_key=settings.llm_api_key.get_secret_value())
    if json_out:
        print(report.model_dump_json(indent=2))
    else:
        console.print(_report_table(report))
    if not report.ok:
        raise typer.Exit(1)


def models() -> None:
    """List the GGUF models that ship in PyPI packages, and whether each is installed."""
    from evorec.serving.llm.model_package import DEFAULT_MODEL, MODELS, is_installed

    t = Table(title="packaged GGUF models")
    for col in ("key", "installed", "size", "licence", "pip packages"):
        t.add_column(col, overflow="fold")
    for m in MODELS.values():
        key = m.key + (" (default)" if m.key == DEFAULT_MODEL else "")
        t.add_row(
            key,
            "yes" if is_installed(m.key) else "no",
            f"{m.total_bytes / 2**20:.0f} MiB",
            m.licence,
            f"{m.dist_prefix}1..{m.n_parts}=={m.version}",
        )
    console.print(t)


def register(app: typer.Typer) -> None:
    llm_app = typer.Typer(help="Serve and probe the LLM (OpenAI-compatible; llama.cpp or vLLM, CPU or GPU).",
                          no_args_is_help=True)  # fmt: skip
    llm_app.command("serve")(serve)
    llm_app.command("check")(check)
    llm_app.command("models")(models)
    app.add_typer(llm_app, name="llm")
