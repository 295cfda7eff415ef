"""Benchmark one agent turn end to end: plan-first executor (baseline) vs the LLM loop.

Runs the same single-turn scenarios of the agent suite both ways over the real Toolbox and
prints latency p50/p95 per turn, LLM calls per turn, time in tools vs in the LLM, and the
ratio LLM/baseline side by side. The LLM is the configured endpoint (--llm URL), or the local
llama.cpp server started for the run (default), or skipped (--llm none: baseline only).

Repeat:
    OPENBLAS_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/bench_agent.py --dataset synthetic --turns 8
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from evorec.agent import AgentService
from evorec.evals.agent_eval import Scenario

console = Console()


class Figures(BaseModel):
    name: str
    turns: int
    p50_ms: float
    p95_ms: float
    tools_ms: float
    llm_ms: float
    llm_calls: float
    degraded: float
    llm_written: float


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, 100 * q, method="nearest")) if xs else 0.0


def run(svc: AgentService, scenarios: list[Scenario], name: str, use_llm: bool) -> Figures:
    lat, tools, llm, calls, degraded, written, total_items = [], [], [], [], 0, 0, 0
    for sc in scenarios:
        rec = svc.ask(sc.user, sc.turns[-1], use_llm=use_llm)
        lat.append(rec.timings_ms["total"])
        tools.append(rec.timings_ms.get("tools", 0.0))
        llm.append(sum(v for k, v in rec.timings_ms.items() if k.startswith("llm_")))
        calls.append(rec.llm_calls)
        degraded += rec.degraded
        written += sum(i.rationale.source == "llm" for i in rec.items)
        total_items += len(rec.items)
    n = len(scenarios)
    return Figures(name=name, turns=n, p50_ms=_pct(lat, 0.5), p95_ms=_pct(lat, 0.95), tools_ms=statistics.fmean(tools),
                   llm_ms=statistics.fmean(llm), llm_calls=statistics.fmean(calls), degraded=degraded / n,
                   llm_written=written / max(total_items, 1))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--llm", default=None, help="endpoint URL, or 'none' (default: settings / local server)")
    ap.add_argument("--turns", type=int, default=8)
    args = ap.parse_args(argv)

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    from evorec.evals.agent_eval import load_scenarios
    from evorec.serving.cli.runtime import agent_runtime, settings_for

    scenarios = [s for s in load_scenarios() if len(s.turns) == 1 and not s.inject][: args.turns]
    settings = settings_for(args.llm, args.dataset)
    with agent_runtime(settings, quiet=True) as (svc, desc):
        run(svc, scenarios[:1], "warm-up", use_llm=False)  # load models and caches once
        base = run(svc, scenarios, "plan-first (baseline)", use_llm=False)
        rows = [base]
        if svc.llm is not None:
            svc.ask(scenarios[0].user, scenarios[0].turns[-1])  # warm the server's prompt cache
            rows.append(run(svc, scenarios, f"LLM loop ({desc})", use_llm=True))
    t = Table(title=f"agent turn, {len(scenarios)} turns, dataset {settings.dataset}")
    for col in ("executor", "p50 ms", "p95 ms", "tools ms", "LLM ms", "LLM calls/turn", "degraded",
                "LLM-written", "p50 ratio"):
        t.add_column(col)
    for f in rows:
        t.add_row(f.name, f"{f.p50_ms:.0f}", f"{f.p95_ms:.0f}", f"{f.tools_ms:.0f}", f"{f.llm_ms:.0f}",
                  f"{f.llm_calls:.2f}", f"{f.degraded:.0%}", f"{f.llm_written:.0%}",
                  f"{f.p50_ms / max(base.p50_ms, 1e-9):.1f}x")
    console.print(t)
    console.print("repeat: OPENBLAS_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/bench_agent.py "
                  + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
