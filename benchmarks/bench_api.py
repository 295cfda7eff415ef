"""Benchmark: ``POST /v1/recommend`` without the LLM (plan-first), through HTTP on loopback.

Baseline: the same call in-process (``AgentService.recommend``, one caller, no HTTP), run in
its own process first. Then a real ``evorec serve`` (one uvicorn worker) under a closed-loop
load of 1, 8 and 32 concurrent clients for a bounded time each. Figures: throughput (req/s),
p50/p95/p99 latency, errors, and throughput as a ratio of the in-process baseline.

Repeat with:
    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_api.py [--duration 20] [--levels 1,8,32]

The first run prepares ``runs/bench-api/home`` (synthetic dataset: generate, ingest, train,
fit fusion; a few minutes) and reuses it afterwards. Loopback only; the load generator runs
on the same machine and takes part of its CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from rich.console import Console
from rich.table import Table

from evorec.settings import Settings

REPO = Path(__file__).resolve().parent.parent
console = Console(width=130)


def settings_for(home: Path) -> Settings:
    return Settings(home=home, dataset="synthetic", llm="none", threads=1)


def ensure_prepared(home: Path) -> None:
    marker = home / ".bench-prepared"
    if marker.is_file():
        return
    console.print(f"preparing {home} (generate, ingest, train, fit fusion) ...")
    subprocess.run([sys.executable, "-m", "evorec.serving.cli.main", "train", "--ingest", "--dataset", "synthetic"],
                   check=True,
                   env={**os.environ, "EVOREC_HOME": str(home), "EVOREC_DATASET": "synthetic", "EVOREC_LLM": "none",
                        "EVOREC_THREADS": "1"})
    marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))


def users_of(home: Path, n: int = 200) -> list[str]:
    from evorec.tools.data.loader import load_dataset

    ds = load_dataset("synthetic", settings=settings_for(home))
    return [str(u) for u in ds.interactions["user_id"].value_counts().index[:n]]


def baseline(home: Path, duration: float, k: int) -> dict:
    """In-process, one caller: the engine cost without HTTP (run in its own process)."""
    import numpy as np
    import torch

    from evorec.agent import AgentService
    from evorec.tools.constraints import Constraints
    from evorec.tools.toolbox import Toolbox

    torch.set_num_threads(1)
    settings = settings_for(home)
    agent = AgentService(Toolbox.open(settings, "synthetic"), settings)
    users = users_of(home)
    rng = random.Random(0)
    c = Constraints(k=k)
    cold = []
    for u in users:  # first request per user: nothing cached yet
        s = time.perf_counter()
        agent.recommend(u, c, use_llm=False)
        cold.append((time.perf_counter() - s) * 1000)
    lat = []
    stop = time.monotonic() + duration
    t0 = time.monotonic()
    while time.monotonic() < stop:
        s = time.perf_counter()
        agent.recommend(rng.choice(users), c, use_llm=False)
        lat.append((time.perf_counter() - s) * 1000)
    secs = time.monotonic() - t0
    a = np.array(lat)
    return {"requests": len(lat), "throughput": len(lat) / secs, "p50_ms": float(np.percentile(a, 50)),
            "p95_ms": float(np.percentile(a, 95)), "p99_ms": float(np.percentile(a, 99)),
            "cold_users": len(cold), "cold_p50_ms": float(np.percentile(cold, 50)),
            "cold_p95_ms": float(np.percentile(cold, 95))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--home", type=Path, default=REPO / "runs" / "bench-api" / "home")
    p.add_argument("--duration", type=float, default=20.0, help="Seconds per concurrency level (and baseline).")
    p.add_argument("--levels", default="1,8,32")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--baseline-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    home = args.home.resolve()
    if args.baseline_only:
        print(json.dumps(baseline(home, args.duration, args.k)))
        return

    from harness.live_server import LiveServer
    from harness.loadgen import run_load

    ensure_prepared(home)
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    console.print(f"baseline: in-process AgentService.recommend, 1 caller, {args.duration:.0f} s ...")
    out = subprocess.run([sys.executable, __file__, "--baseline-only", "--home", str(home), "--duration",
                          str(args.duration), "--k", str(args.k)], check=True, capture_output=True, text=True)
    base = json.loads(out.stdout.strip().splitlines()[-1])
    users = users_of(home)
    env = {"EVOREC_HOME": str(home), "EVOREC_DATASET": "synthetic", "EVOREC_LLM": "none", "EVOREC_THREADS": "1",
           "EVOREC_API_KEYS": "", "EVOREC_ADMIN_KEY": ""}
    results = []
    with LiveServer(env, log_path=home.parent / "server.log") as server:
        console.print(f"warming the server's per-user caches ({len(users)} users) ...")
        pending = list(users)
        run_load(server.url, "/v1/recommend", lambda r: {"user_id": pending.pop() if pending else r.choice(users),
                                                         "k": args.k, "llm": False},
                 clients=2, duration_s=600, max_requests=len(users))
        for n in levels:
            console.print(f"HTTP /v1/recommend, {n} concurrent clients, {args.duration:.0f} s ...")
            results.append(run_load(server.url, "/v1/recommend",
                                    lambda r: {"user_id": r.choice(users), "k": args.k, "llm": False},
                                    clients=n, duration_s=args.duration, timeout_s=120, seed=n))

    t = Table(title=f"/v1/recommend without LLM, warm per-user caches (k={args.k}, synthetic 400 users / 800 items, "
                    f"{len(users)} users queried, {os.cpu_count()} CPUs)")
    for col in ("run", "requests", "errors", "req/s", "× baseline", "p50 ms", "p95 ms", "p99 ms"):
        t.add_column(col, justify="right")
    t.add_row("baseline: in-process, 1 caller", str(base["requests"]), "0", f"{base['throughput']:.1f}", "1.00",
              f"{base['p50_ms']:.1f}", f"{base['p95_ms']:.1f}", f"{base['p99_ms']:.1f}")
    for r in results:
        t.add_row(f"HTTP, {r.clients} clients", str(r.requests), str(r.errors), f"{r.throughput:.1f}",
                  f"{r.throughput / base['throughput']:.2f}", f"{r.p50_ms:.1f}", f"{r.p95_ms:.1f}", f"{r.p99_ms:.1f}")
    console.print(t)
    console.print(f"cold (first request of a user, in-process): p50 {base['cold_p50_ms']:.1f} ms, "
                  f"p95 {base['cold_p95_ms']:.1f} ms over {base['cold_users']} users")
    load = os.getloadavg()
    console.print(f"machine load average during the run: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    console.print("repeat: OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_api.py "
                  f"--duration {args.duration:g} --levels {args.levels}")
    (home.parent / "bench_api.json").write_text(json.dumps({"baseline": base, "levels": [r.model_dump()
                                                                                         for r in results]}, indent=1))


if __name__ == "__main__":
    main()
