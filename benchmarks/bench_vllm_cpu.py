"""Micro-benchmark: what moves vLLM's prefill and decode speed on this CPU (dtype, threads, VLLM_CPU_* settings,
chunked prefill), with our llama.cpp server on the same prompts as the reference.

Each variant starts its own server (timed), then, streaming, with temperature 0:
  cold   the agent's system prompt + tools + a request, max 1 token      -> prefill time of ~900 tokens
  warm   the same prefix + a different request, max 1 token              -> prefill with the prefix cached
  decode a free answer of exactly N tokens (ignore_eos / min_tokens)      -> decode tokens/s after the first
and the server's CPU seconds for the three calls (load-independent), plus the RSS of its process tree.

Repeat:
    OPENBLAS_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/bench_vllm_cpu.py \
        --variant bf16-t1:dtype=bfloat16,threads=1 --variant fp32-t1:dtype=float32,threads=1 \
        --variant llamacpp-t1:threads=1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from bench_backends import tree_cpu_s, tree_rss_mib  # same folder

from evorec.agent.llm_tools import LLM_TOOLS
from evorec.agent.tool_calls import tool_specs
from evorec.prompts import load_prompt
from evorec.serving.llm.launcher import ManagedServer, start_local_server, stop_process
from evorec.serving.llm.vllm import config_from_settings, start_vllm
from evorec.settings import get_settings

REQUESTS = ["Something new to watch tonight, no horror please.", "What comedies from the nineties would I like?"]


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    name, _, spec = text.partition(":")
    opts = dict(kv.split("=", 1) for kv in spec.split(",") if kv)
    return name, opts


def stream(base: str, model: str, messages: list[dict[str, Any]], max_tokens: int, tools: list[Any] | None = None,
           exact: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": max_tokens, "temperature": 0,
                            "stream": True, "stream_options": {"include_usage": True}}
    if tools:
        body |= {"tools": tools, "tool_choice": "none"}
    if exact:
        body |= {"ignore_eos": True, "min_tokens": max_tokens}
    t0 = time.perf_counter()
    first = None
    usage: dict[str, Any] = {}
    timings: dict[str, Any] = {}
    with httpx.stream("POST", f"{base}/chat/completions", json=body, timeout=900) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("choices") and first is None and chunk["choices"][0].get("delta", {}).get("content"):
                first = time.perf_counter()
            usage = chunk.get("usage") or usage
            timings = chunk.get("timings") or timings
    end = time.perf_counter()
    first = first or end
    n = int(usage.get("completion_tokens") or 0)
    return {"ttft_s": round(first - t0, 2), "total_s": round(end - t0, 2), "completion_tokens": n,
            "prompt_tokens": usage.get("prompt_tokens"),
            "cached_tokens": (usage.get("prompt_tokens_details") or {}).get("cached_tokens"),
            "decode_tok_s": round((n - 1) / (end - first), 1) if n > 1 and end > first else None,
            "server_timings": timings or None}


def run_variant(name: str, opts: dict[str, str], decode_tokens: int) -> dict[str, Any]:
    threads = int(opts.pop("threads", "1"))
    settings = get_settings().with_overrides(llm_threads=threads)
    backend = "llamacpp" if name.startswith("llamacpp") else "vllm"
    t0 = time.perf_counter()
    server: ManagedServer
    if backend == "vllm":
        chunked = opts.pop("chunked", None)
        dtype = opts.pop("dtype", None)
        eager = opts.pop("eager", None)  # 1: no torch.compile warm-up; 0: compiled; absent: the CPU default
        cfg = config_from_settings(settings, dtype=dtype,
                                   enable_chunked_prefill=None if chunked is None else chunked == "1",
                                   enforce_eager=None if eager is None else eager == "1")
        extra_env = dict(opts)  # the rest: VLLM_CPU_* environment
        saved = {k: os.environ.get(k) for k in extra_env}
        os.environ.update(extra_env)
        try:
            server = start_vllm(cfg, settings)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    else:
        server = start_local_server(settings)
    start_s = time.perf_counter() - t0
    pid = server.process.pid
    base, model = server.endpoint
    system = load_prompt("agent_system").strip()
    tools = tool_specs(LLM_TOOLS)
    out: dict[str, Any] = {"variant": name, "backend": backend, "threads": threads, "options": opts,
                           "start_s": round(start_s, 1), "rss_mib": round(tree_rss_mib(pid))}
    try:
        cpu0 = tree_cpu_s(pid)
        msgs = [{"role": "system", "content": system}]
        out["cold"] = stream(base, model, [*msgs, {"role": "user", "content": REQUESTS[0]}], 1, tools)
        out["warm"] = stream(base, model, [*msgs, {"role": "user", "content": REQUESTS[1]}], 1, tools)
        out["decode"] = stream(base, model, [{"role": "user", "content": "Tell me a long story about a film club."}],
                               decode_tokens, exact=True)
        out["server_cpu_s"] = round(tree_cpu_s(pid) - cpu0, 1)
        out["rss_peak_mib"] = round(tree_rss_mib(pid))
    finally:
        stop_process(server.process, grace_s=30)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", action="append", required=True,
                    help="name:key=value,... (dtype, threads, chunked=0|1, eager=0|1, any VLLM_CPU_*=...); "
                         "a name starting with 'llamacpp' runs our server")
    ap.add_argument("--decode-tokens", type=int, default=64)
    ap.add_argument("--out", type=Path, default=Path("runs/bench-vllm-cpu.json"))
    a = ap.parse_args(argv)
    rows = []
    for v in a.variant:
        name, opts = parse_variant(v)
        row = run_variant(name, opts, a.decode_tokens)
        rows.append(row)
        print(json.dumps(row), flush=True)
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(rows, indent=1))
    print("| variant | start s | cold prefill s (tokens) | warm prefill s (cached) | decode tok/s | server CPU s "
          "| RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        c, w, d = r["cold"], r["warm"], r["decode"]
        print(f"| {r['variant']} | {r['start_s']} | {c['ttft_s']} ({c['prompt_tokens']}) | {w['ttft_s']} "
              f"({w['cached_tokens']}) | {d['decode_tok_s']} | {r['server_cpu_s']} | {r['rss_peak_mib']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
