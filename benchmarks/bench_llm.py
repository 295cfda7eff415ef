"""Benchmark the packaged local LLMs through evorec's own OpenAI-compatible server.

For each model: start the real server (2 threads), run the probe suite (5 recommender
prompts -> tool-call well-formedness and right-tool rate; a tool round trip ending in a
JSON-schema answer; JSON-schema validity; streaming speed), and report per-call latency,
prompt/generation tokens/s and KV-cache reuse. Figures are printed side by side with the
ratio chosen/baseline (baseline = the runner-up model).

Repeat:
    make llm LLM_MODELS="qwen2.5-coder-0.5b qwen2.5-coder-1.5b"
    OPENBLAS_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/bench_llm.py \
        --models qwen2.5-coder-0.5b qwen2.5-coder-1.5b --rounds 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from evorec.serving.llm.launcher import llm_threads, start_local_server, stop_process
from evorec.serving.llm.model_package import MODELS, is_installed
from evorec.serving.llm.probe import ProbeReport, probe_endpoint
from evorec.settings import get_settings

console = Console()


class ModelBench(BaseModel):
    model: str
    load_s: float
    reports: list[ProbeReport]

    def figures(self) -> dict[str, float | None]:
        calls = [c for r in self.reports for c in r.tool_calls]
        ok_lat = [c.latency_s for c in calls if c.error is None]
        cold = [r.tool_calls[0].latency_s for r in self.reports[:1] if r.tool_calls]
        warm = [c.latency_s for r in self.reports for c in r.tool_calls[1:] if c.error is None]
        rt = [r.round_trip_latency_s for r in self.reports if r.round_trip_latency_s]
        n = len(calls) or 1

        def med(xs: list[float | None]) -> float | None:
            vals = [x for x in xs if x is not None]
            return statistics.median(vals) if vals else None

        return {
            "server start + load (s)": self.load_s,
            "well-formed tool calls (%)": 100 * sum(c.well_formed for c in calls) / n,
            "right tool (%)": 100 * sum(c.right_tool for c in calls) / n,
            "round trip + JSON answer ok (%)": 100 * sum(r.round_trip_ok for r in self.reports) / len(self.reports),
            "JSON-schema output ok (%)": 100 * sum(r.json_schema_ok for r in self.reports) / len(self.reports),
            "tool-call latency p50 (s)": statistics.median(ok_lat) if ok_lat else None,
            "first call, cold cache (s)": cold[0] if cold else None,
            "later calls, warm prefix p50 (s)": statistics.median(warm) if warm else None,
            "turn: call + JSON answer p50 (s)": statistics.median(rt) if rt else None,
            "prompt tokens/s (uncached)": med([r.prompt_tokens_per_s for r in self.reports]),
            "generation tokens/s": med([r.generation_tokens_per_s for r in self.reports]),
            "prompt tokens per call": statistics.median([c.prompt_tokens for c in calls]) if calls else None,
            "cached prompt tokens (%)": 100
            * sum(c.cached_tokens for c in calls)
            / max(sum(c.prompt_tokens for c in calls), 1),
        }


def bench_model(key: str, rounds: int) -> ModelBench:
    settings = get_settings()
    t0 = time.perf_counter()
    server = start_local_server(settings, key)
    load = time.perf_counter() - t0
    try:
        reports = []
        for i in range(rounds):
            console.print(f"[dim]{key}: probe round {i + 1}/{rounds}[/dim]")
            reports.append(probe_endpoint(server.endpoint.base_url, server.endpoint.model))
    finally:
        stop_process(server.process)
    return ModelBench(model=key, load_s=load, reports=reports)


def cpu_seconds(key: str, gen_tokens: int = 40) -> dict[str, float]:
    """Contention-free speed: CPU seconds of ONE llama.cpp thread (= wall time on an idle core).

    Wall-clock figures on a shared 2-core box swing with everyone else's load; CPU time does not.
    """
    import llama_cpp

    from evorec.serving.llm.chat_format import render_prompt
    from evorec.serving.llm.model_package import resolve_model
    from evorec.serving.llm.probe import PROBE_SYSTEM, PROBE_TOOLS

    path = resolve_model(get_settings(), key).path
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=4096, n_threads=1, n_threads_batch=1, verbose=False)
    prompt = render_prompt(
        [{"role": "system", "content": PROBE_SYSTEM}, {"role": "user", "content": "What did user 42 watch?"}],
        PROBE_TOOLS,
    )
    tokens = llm.tokenize(prompt.encode(), add_bos=False, special=True)
    c0 = time.process_time()
    llm.eval(tokens)
    prompt_cpu = time.process_time() - c0
    n, c0 = 0, time.process_time()
    for _ in llm.generate(tokens, temp=0.0, reset=True):
        n += 1
        if n >= gen_tokens:
            break
    gen_cpu = time.process_time() - c0
    return {
        "prompt tokens per CPU-second": len(tokens) / prompt_cpu,
        "generated tokens per CPU-second": n / gen_cpu,
        f"system+tools prompt ({len(tokens)} tok), CPU-s": prompt_cpu,
    }


def fmt(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), help="packaged model keys; the first is 'chosen'")
    ap.add_argument("--rounds", type=int, default=2, help="probe rounds per model")
    ap.add_argument("--out", type=Path, default=None, help="also write the raw reports as JSON")
    ap.add_argument("--cpu-only", action="store_true", help="only the contention-free CPU-time figures")
    args = ap.parse_args()
    models = [m for m in args.models if is_installed(m)]
    for m in set(args.models) - set(models):
        console.print(f'[yellow]skipping {m}: not installed (make llm LLM_MODELS="{m}")[/yellow]')
    if not models:
        console.print("[red]no packaged model installed; run `make llm`[/red]")
        return 1
    import os

    cpu = {m: cpu_seconds(m) for m in models}
    ctable = Table(title="contention-free speed (1 thread, CPU seconds = idle-core wall time)")
    ctable.add_column("metric")
    for m in models:
        ctable.add_column(m, justify="right")
    if len(models) > 1:
        ctable.add_column(f"ratio {models[0]} / {models[-1]}", justify="right")
    for metric in cpu[models[0]]:
        row = [metric, *(fmt(cpu[m][metric]) for m in models)]
        if len(models) > 1:
            row.append(f"{cpu[models[0]][metric] / cpu[models[-1]][metric]:.2f}x")
        ctable.add_row(*row)
    console.print(ctable)
    if args.cpu_only:
        return 0
    load0 = os.getloadavg()[0]
    threads = llm_threads(get_settings())
    results = [bench_model(m, args.rounds) for m in models]
    figs = [r.figures() for r in results]
    load = f"load avg {load0:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    table = Table(title=f"local LLM benchmark ({args.rounds} probe rounds, {threads} llama.cpp threads, {load})")
    table.add_column("metric")
    for r in results:
        table.add_column(r.model, justify="right")
    if len(results) > 1:
        table.add_column(f"ratio {results[0].model} / {results[-1].model}", justify="right")
    for metric in figs[0]:
        row = [metric, *(fmt(f[metric]) for f in figs)]
        if len(results) > 1:
            a, b = figs[0][metric], figs[-1][metric]
            row.append(f"{a / b:.2f}x" if a is not None and b else "n/a")
        table.add_row(*row)
    console.print(table)
    for r in results:
        for rep in r.reports[:1]:
            for c in rep.tool_calls:
                console.print(f"  {r.model}: {c.question[:50]!r} -> {c.called} {c.arguments} ({c.latency_s:.1f}s)")
            console.print(f"  {r.model}: round trip: {rep.round_trip_detail}; errors: {rep.errors or 'none'}")
    if args.out:
        args.out.write_text(json.dumps([r.model_dump() for r in results], indent=1, default=str))
    console.print(
        "repeat: OPENBLAS_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/bench_llm.py "
        f"--models {' '.join(args.models)} --rounds {args.rounds}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
