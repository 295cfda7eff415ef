"""Side by side in ONE run: the agent scenario suite on vLLM (CPU) and on our llama.cpp server.

Same machine, same model (the packaged Qwen2.5-Coder-0.5B: GGUF for llama.cpp, its HF conversion for
vLLM), same thread count, same toolbox and scenarios. Both servers run for the whole run and the
scenarios are interleaved (A then B, then B then A for the next one), so both see the same background
load. Reported per backend: every quality figure of ``evorec eval-agent``, turn p50/p95, per-call
prefill and decode time (llama.cpp sends ``timings``; for vLLM they come from the deltas of its
Prometheus histograms around each call, calls being sequential), server start, server CPU seconds per
turn (load-independent), peak RSS of the server's process tree, and the install times the build
scripts recorded.

Repeat (after ``make llm``; EVOREC_HOME prepared with the synthetic dataset):
    OPENBLAS_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/bench_backends.py --limit 8 --threads 1 \
        --out benchmarks/results/backends
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from evorec.agent import AgentService
from evorec.agent.llm import ChatReply, OpenAIChatModel
from evorec.evals.agent_eval import ScenarioResult, load_scenarios, run_scenario, summarise
from evorec.serving.llm.launcher import ManagedServer, start_local_server, stop_process, warm_up
from evorec.serving.llm.model_package import DEFAULT_MODEL, models_dir
from evorec.serving.llm.vllm import config_from_settings, cpu_dtype, find_vllm, hf_model_dir, start_vllm
from evorec.settings import Settings, get_settings

BACKENDS = ("vllm", "llamacpp")
VLLM_TIMES = {"prefill": "vllm:request_prefill_time_seconds_sum", "decode": "vllm:request_decode_time_seconds_sum"}


# ---- process-tree accounting from /proc (no psutil in this venv) -------------------------------------
def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += _children(p)
    return tree


def tree_rss_mib(pid: int) -> float:
    total = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def tree_cpu_s(pid: int) -> float:
    """user+system CPU seconds of the live process tree."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / tick


# ---- vLLM per-call prefill/decode from its /metrics -------------------------------------------------
def scrape(metrics_url: str) -> dict[str, float]:
    sums = dict.fromkeys(VLLM_TIMES, 0.0)
    text = httpx.get(metrics_url, timeout=10).text
    for line in text.splitlines():
        for key, name in VLLM_TIMES.items():
            if line.startswith(name):
                sums[key] += float(line.rsplit(" ", 1)[1])
    return sums


class MeteredModel:
    """The agent's OpenAI client; for a vLLM server it fills prefill/generation ms from /metrics deltas."""

    def __init__(self, inner: OpenAIChatModel, metrics_url: str | None) -> None:
        self.inner, self.metrics_url, self.name = inner, metrics_url, inner.name

    def complete(self, messages: list[dict[str, Any]], **options: Any) -> ChatReply:
        before = scrape(self.metrics_url) if self.metrics_url else None
        reply = self.inner.complete(messages, **options)
        if before is not None and self.metrics_url and reply.prefill_ms is None:
            after = scrape(self.metrics_url)
            reply.prefill_ms = round((after["prefill"] - before["prefill"]) * 1000, 1)
            reply.generation_ms = round((after["decode"] - before["decode"]) * 1000, 1)
        return reply


# ---- install times recorded by the build scripts ----------------------------------------------------
def recorded_install(settings: Settings) -> dict[str, float | None]:
    def seconds(path: Path, key: str = "seconds") -> float | None:
        try:
            return float(json.loads(path.read_text())[key])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    wheels = Path(os.environ.get("EVOREC_WHEEL_CACHE", Path.home() / ".cache/evorec/wheels"))
    builds = sorted(wheels.glob("llama_cpp_python-*.build.json"))
    return {"vllm_install_s": seconds(settings.vllm_venv / ".evorec-install.json"),
            "vllm_convert_s": seconds(hf_model_dir(DEFAULT_MODEL) / "evorec-gguf.json"),
            "llamacpp_build_s": seconds(builds[-1]) if builds else None,
            "gguf_bytes": float((models_dir() / f"{DEFAULT_MODEL}.gguf").stat().st_size) / 2**20
            if (models_dir() / f"{DEFAULT_MODEL}.gguf").is_file() else None}


# ---- the run ----------------------------------------------------------------------------------------
def start(backend: str, settings: Settings) -> tuple[ManagedServer, float]:
    t0 = time.perf_counter()
    server = start_vllm(config_from_settings(settings), settings) if backend == "vllm" else start_local_server(settings)
    return server, time.perf_counter() - t0


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))], 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="At most this many scenarios (each on both backends).")
    ap.add_argument("--only", default=None, help="Comma-separated id/tag filter, as eval-agent --only.")
    ap.add_argument("--threads", type=int, default=1, help="LLM threads of BOTH servers.")
    ap.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    ap.add_argument("--vllm-dtype", default=None, help="vLLM dtype (default: settings.vllm_dtype).")
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--out", type=Path, default=Path("runs/bench-backends"))
    a = ap.parse_args(argv)

    from evorec.tools.toolbox import Toolbox

    over: dict[str, Any] = {"llm_threads": a.threads, "dataset": a.dataset, "vllm_dtype": a.vllm_dtype}
    settings = get_settings().with_overrides(**over)
    scenarios = load_scenarios()
    if a.only:
        keys = [k.strip() for k in a.only.split(",") if k.strip()]
        scenarios = [s for s in scenarios if any(k in s.id or any(k in t for t in s.tags) for k in keys)]
    scenarios = scenarios[: a.limit] if a.limit else scenarios
    install = recorded_install(settings)
    vinst = find_vllm(settings)
    print(f"{len(scenarios)} scenarios x {a.backends}, {a.threads} LLM thread(s); vLLM: {vinst}", flush=True)

    toolbox = Toolbox.open(settings, settings.dataset)
    servers: dict[str, ManagedServer] = {}
    figures: dict[str, dict[str, Any]] = {b: {} for b in a.backends}
    services: dict[str, AgentService] = {}
    results: dict[str, list[ScenarioResult]] = {b: [] for b in a.backends}
    t_run = time.perf_counter()
    try:
        for b in a.backends:  # one at a time, so each start is measured alone
            server, start_s = start(b, settings)
            servers[b] = server
            pid = server.process.pid
            f = figures[b]
            f["server_start_s"] = round(start_s, 1)
            f["server_start_cpu_s"] = round(tree_cpu_s(pid), 1)
            f["rss_after_start_mib"] = round(tree_rss_mib(pid))
            metrics = server.endpoint.base_url.removesuffix("/v1") + "/metrics" if b == "vllm" else None
            inner = OpenAIChatModel(server.endpoint.base_url, server.endpoint.model, timeout_s=600)
            svc = AgentService(toolbox, settings, llm=MeteredModel(inner, metrics))
            t0 = time.perf_counter()
            f["warm_up_prompt_tokens"] = warm_up(server.endpoint, *svc.llm_prefix(), timeout_s=600)
            f["warm_up_s"] = round(time.perf_counter() - t0, 1)
            services[b] = svc
            print(f"{b}: started in {start_s:.0f} s, RSS {f['rss_after_start_mib']} MiB, warm-up {f['warm_up_s']} s",
                  flush=True)
        cpu_before = {b: tree_cpu_s(servers[b].process.pid) for b in a.backends}
        peak = {b: 0.0 for b in a.backends}
        for i, sc in enumerate(scenarios):
            order = a.backends if i % 2 == 0 else list(reversed(a.backends))
            for b in order:
                r = run_scenario(services[b], sc)
                results[b].append(r)
                peak[b] = max(peak[b], tree_rss_mib(servers[b].process.pid))
                lat = "/".join(f"{x / 1000:.1f}" for x in r.latency_ms_per_turn)
                print(f"[{i + 1}/{len(scenarios)}] {sc.id:24s} {b:8s} turns {lat} s degraded={r.degraded} "
                      f"calls={[c.purpose for c in r.llm_call_log]}", flush=True)
        for b in a.backends:
            f = figures[b]
            turns = sum(len(r.latency_ms_per_turn) for r in results[b])
            f["server_cpu_s_per_turn"] = round((tree_cpu_s(servers[b].process.pid) - cpu_before[b]) / max(turns, 1), 2)
            f["rss_peak_mib"] = round(peak[b])
    finally:
        for s in servers.values():
            stop_process(s.process, grace_s=30)
    wall = time.perf_counter() - t_run

    report: dict[str, Any] = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"), "command": "python " + " ".join(sys.argv),
        "threads": a.threads, "scenarios": [s.id for s in scenarios], "wall_s": round(wall, 1),
        "load_avg_end": os.getloadavg(), "install": install, "vllm": vinst.model_dump(mode="json") if vinst else None,
        "vllm_dtype": settings.vllm_dtype or f"auto ({cpu_dtype() or 'the model dtype'} on a CPU host)",
        "backends": {b: {"metrics": summarise(results[b]), "server": figures[b],
                         "turn_latency_s": [round(x / 1000, 2) for r in results[b] for x in r.latency_ms_per_turn],
                         "scenarios": [r.model_dump(mode="json") for r in results[b]]} for b in a.backends},
    }
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "backends.json").write_text(json.dumps(report, indent=1))
    (a.out / "backends.md").write_text(render(report))
    print(render(report))
    return 0


ROWS = ["scenarios_completed", "valid_tool_call_rate", "llm_tool_calls", "right_tool_rate",
        "llm_chose_expected_tool_rate", "constraint_satisfaction", "invented_item_rate_shipped",
        "invented_item_rate_proposed", "rationale_grounding_rate", "llm_written_rationale_share",
        "forbidden_fact_rate", "foreign_user_leak_rate", "cold_start_flag_ok", "degraded_rate",
        "llm_calls_per_turn_mean", "latency_ms_p50", "latency_ms_p95",
        "tools_new_prompt_tokens_p50", "tools_prefill_ms_p50", "tools_completion_tokens_p50",
        "tools_generation_ms_p50", "tools_latency_ms_p50", "answer_prompt_tokens_p50", "answer_new_prompt_tokens_p50",
        "answer_prefill_ms_p50", "answer_completion_tokens_p50", "answer_generation_ms_p50", "answer_latency_ms_p50",
        "repair_calls"]


def render(rep: dict[str, Any]) -> str:
    bs = list(rep["backends"])
    lines = [f"# LLM backends side by side — {rep['created']}", "",
             f"- scenarios ({len(rep['scenarios'])}, interleaved, each on every backend): "
             f"{', '.join(rep['scenarios'])}",
             f"- LLM threads per server: {rep['threads']}; vLLM dtype: {rep['vllm_dtype']}; vLLM: "
             f"{(rep['vllm'] or {}).get('distribution')} {(rep['vllm'] or {}).get('version')}",
             f"- wall {rep['wall_s']} s; load average at the end {', '.join(f'{x:.1f}' for x in rep['load_avg_end'])}",
             f"- repeat: `{rep['command']}`", "",
             "| metric | " + " | ".join(bs) + (" | ratio " + f"{bs[0]}/{bs[1]}" if len(bs) == 2 else "") + " |",
             "|---|" + "---|" * (len(bs) + (len(bs) == 2))]

    def row(name: str, vals: list[Any]) -> None:
        ratio = ""
        if len(vals) == 2 and all(isinstance(v, (int, float)) for v in vals) and vals[1]:
            ratio = f" | {vals[0] / vals[1]:.2f}"
        elif len(vals) == 2:
            ratio = " | "
        lines.append(f"| {name} | " + " | ".join("n/a" if v is None else str(v) for v in vals) + ratio + " |")

    for k in ROWS:
        row(k, [rep["backends"][b]["metrics"].get(k) for b in bs])
    for k in ("server_start_s", "server_start_cpu_s", "warm_up_s", "warm_up_prompt_tokens", "server_cpu_s_per_turn",
              "rss_after_start_mib", "rss_peak_mib"):
        row(k, [rep["backends"][b]["server"].get(k) for b in bs])
    inst = rep["install"]
    lines += ["", "Install (recorded by the build scripts on this machine; n/a = not recorded):", "",
              f"- vLLM wheels into their own venv: {inst.get('vllm_install_s') or 'n/a'} s; "
              f"GGUF -> HF conversion: {inst.get('vllm_convert_s') or 'n/a'} s",
              f"- llama-cpp-python source build: {inst.get('llamacpp_build_s') or 'n/a'} s"]
    med = {b: statistics.median(rep["backends"][b]["turn_latency_s"]) if rep["backends"][b]["turn_latency_s"]
           else None for b in bs}
    lines += ["", f"Turn latency medians (s): {med}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
