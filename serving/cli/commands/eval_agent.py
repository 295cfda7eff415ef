"""``evorec eval-agent [--llm URL|none] [--dataset synthetic]``: the agent scenario suite."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from evorec.serving.cli.runtime import DatasetOpt, LlmOpt, agent_runtime, settings_for

console = Console()


def register(app: typer.Typer) -> None:
    @app.command("eval-agent")
    def eval_agent(
        llm: LlmOpt = None,
        dataset: DatasetOpt = None,
        scenarios: Annotated[list[Path] | None, typer.Option("--scenarios", help="JSONL files (default: the "
                                                             "bundled evals/scenarios/*.jsonl).")] = None,
        only: Annotated[str | None, typer.Option(help="Comma-separated: run scenarios whose id or a tag contains "
                                                 "one of these.")] = None,
        limit: Annotated[int | None, typer.Option(min=1, help="Run at most this many scenarios.")] = None,
        runs_dir: Annotated[Path, typer.Option(help="Reports go to RUNS_DIR/<timestamp>/.")] = Path("runs"),
    ) -> None:
        """Score the agent on its scenario suite; writes agent_report.md and .json."""
        from evorec.evals.agent_eval import load_scenarios, run_agent_eval, write_report

        settings = settings_for(llm, dataset)
        chosen = load_scenarios(scenarios)
        if only:
            keys = [k.strip() for k in only.split(",") if k.strip()]
            chosen = [s for s in chosen if any(k in s.id or any(k in t for t in s.tags) for k in keys)]
        chosen = chosen[:limit] if limit else chosen
        command = "evorec " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        with agent_runtime(settings) as (svc, llm_desc):
            rep = run_agent_eval(svc, chosen, llm_desc=llm_desc, dataset=settings.dataset)
        out = write_report(rep, runs_dir, command)
        m = rep.metrics
        for key in ("valid_tool_call_rate", "right_tool_rate", "constraint_satisfaction", "invented_item_rate_shipped",
                    "rationale_grounding_rate", "llm_calls_per_turn_mean", "latency_ms_p50", "latency_ms_p95",
                    "degraded_rate", "tools_new_prompt_tokens_p50", "tools_prefill_ms_p50", "tools_generation_ms_p50",
                    "answer_new_prompt_tokens_p50", "answer_completion_tokens_p50", "answer_prefill_ms_p50",
                    "answer_generation_ms_p50", "repair_calls"):
            v = m.get(key)
            if v is None and key not in m:
                continue
            console.print(f"{key:32s} {'n/a' if v is None else v}")
        console.print(f"report: {out / 'agent_report.md'}")
