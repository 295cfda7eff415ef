"""``evorec demo``: the whole product on the embedded defaults, end to end.

generate synthetic data → ingest into Chroma → train the forecaster and fit the fusion
ranker → recommend with evidence → interest-evolution chart → one chat turn with the
local LLM (or the plan-first executor, marked degraded) → serve the API and web page.
Idempotent: a second run reuses the store and artifacts when they match the data.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.rule import Rule

from evorec.settings import Settings

if TYPE_CHECKING:
    from evorec.serving.llm.setup_job import LLMSetupJob

console = Console()

QUESTION = "What should I watch next, and why? Nothing I've seen already."


def _showcase_users(settings: Settings, n: int) -> list[tuple[str, str]]:
    """Users whose planted drift makes a good story: (user_id, what was planted)."""
    from evorec.tools import load_ground_truth, synthetic_dir

    drifts = load_ground_truth(synthetic_dir(settings))
    picked: list[tuple[str, str]] = []
    for kind in ("sudden_switch", "emerging", "slow_drift", "fading", "stable"):
        for d in drifts:
            if d.kind == kind:
                story = f"{kind}: {d.from_category or '-'} → {d.to_category or '-'}"
                picked.append((d.user_id, story))
                break
    return picked[:n]


def _start_llm_setup(settings: Settings) -> LLMSetupJob | None:
    """The LLM's one-time install and model conversion, started before training so the two overlap."""
    from evorec.errors import LLMUnavailableError
    from evorec.serving.llm.setup_job import LLMSetupJob

    try:
        job = LLMSetupJob(settings.home / "logs" / "llm-setup.log")
    except LLMUnavailableError as e:
        console.print(f"[yellow]{e}[/yellow]", highlight=False)
        return None
    console.print(f"setting up the local LLM in the background (log: {job.log})", highlight=False)
    return job


def _finish_llm_setup(job: LLMSetupJob) -> None:
    try:
        with console.status("finishing the local LLM setup (install, model conversion)…") if job.running() \
                else contextlib.nullcontext():
            result = job.wait()
    except BaseException:
        job.cancel()
        raise
    if result.ok:
        console.print(f"local LLM set up ({result.seconds:.0f}s after it started): {result.last_line}",
                      highlight=False)
    else:
        console.print(f"[yellow]the local LLM setup failed: {result.last_line} (log: {result.log}); the chat "
                      "step runs without it[/yellow]", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        users: Annotated[int, typer.Option(min=1, max=5, help="How many showcase users to recommend for.")] = 2,
        serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API and web page at the end.")]
        = True,
        llm: Annotated[str | None, typer.Option(help="LLM endpoint URL, or 'none' for the plan-first executor. "
                                                     "Default: the local LLM server (vLLM or llama.cpp) when "
                                                     "installed.")] = None,
        retrain: Annotated[bool, typer.Option("--retrain", help="Re-ingest and retrain even if up to date.")] = False,
        out: Annotated[Path, typer.Option(help="Where to write the demo's charts.")] = Path("runs/demo"),
        port: Annotated[int | None, typer.Option(help="Port for --serve (default settings.port).")] = None,
        install_llm: Annotated[bool, typer.Option(
            "--install-llm", help="Set up the local LLM (scripts/build_llm.sh, what `make llm` runs) in the "
            "background while the data and models are prepared; the chat step waits for it.")] = False,
    ) -> None:
        """Run the whole pipeline on the synthetic dataset with planted interest drift, then serve it."""
        from evorec.serving.cli.output import render_answer
        from evorec.serving.cli.runtime import agent_runtime, settings_for
        from evorec.serving.llm.launcher import local_llm
        from evorec.tools import Constraints, PrepareOptions, is_prepared, plot_user_trends, prepare

        settings = settings_for(llm, "synthetic")
        setup_job = _start_llm_setup(settings) if install_llm and settings.llm != "none" and not settings.llm_url \
            else None
        console.print(Rule("1 · data, store, models"))
        try:
            if not retrain and is_prepared(settings, "synthetic"):
                console.print(f"store and artifacts under {settings.home} are up to date (use --retrain to rebuild)")
            else:
                report = prepare(settings, PrepareOptions(dataset="synthetic", progress=True),
                                 say=lambda m: console.print(m, highlight=False))
                console.print(f"prepared in {sum(report.seconds.values()):.0f}s: {report.seconds}")
        except BaseException:
            if setup_job is not None:
                setup_job.cancel()
            raise
        if setup_job is not None:
            _finish_llm_setup(setup_job)

        showcase = _showcase_users(settings, users)
        out.mkdir(parents=True, exist_ok=True)
        # One LLM for the whole demo: started here, used by the chat turn below AND by the page served at the
        # end (the server is told its URL), stopped when the server stops. Without one, the page says so.
        with local_llm(settings) as endpoint:
            run_settings = settings if endpoint is None else settings.with_overrides(
                llm="endpoint", llm_url=endpoint.base_url, llm_model=endpoint.model)
            with agent_runtime(run_settings) as (svc, llm_desc):
                toolbox = svc.toolbox
                for uid, story in showcase:
                    console.print(Rule(f"2 · user {uid} (planted {story})"))
                    trends = toolbox.detect_trends(uid)
                    console.print(trends.summary(), highlight=False)
                    png = plot_user_trends(trends, out / f"interests_user_{uid}.png")
                    console.print(f"interest-evolution chart: {png}")
                    rec = svc.recommend(uid, Constraints(k=5), explain=True, use_llm=False)
                    render_answer(rec)
                uid = showcase[0][0]
                console.print(Rule(f"3 · chat as user {uid} — LLM: {llm_desc}"))
                console.print(f"[bold]you:[/bold] {QUESTION}", highlight=False)
                rec = svc.ask(uid, QUESTION, Constraints(k=5))
                if rec.message:
                    console.print(rec.message, highlight=False)
                render_answer(rec)
                flags = f"degraded ({rec.degraded_reason})" if rec.degraded else f"{rec.llm_calls} LLM call(s)"
                console.print(f"[dim]{flags}; dropped by the grounding validator: {rec.dropped or 'nothing'}[/dim]")

            if serve:
                from evorec.serving.api.server import serve as run_server

                console.print(Rule("4 · serving"))
                console.print(f"The page answers with the LLM {llm_desc}." if endpoint is not None else
                              "No local LLM is installed (`make llm`): the page answers from templates, marked "
                              "degraded.", highlight=False)
                console.print("Ctrl-C stops the server.")
                run_server(run_settings, run_settings.host, port or run_settings.port,
                           say=lambda m: console.print(m, highlight=False))
