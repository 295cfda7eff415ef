"""Does every model scale to a large catalog on 2 CPU cores? Fit time and peak RSS per model (not a test).

Each model runs in its own ``evorec eval`` process (one model per process, so the process's peak RSS is that
model's: dataset, split, fit and full-catalog scoring of every test case), one after the other, never in
parallel. Torch models may be capped to a few epochs (``--epochs``): a scaling run then measures the cost per
epoch and the memory, not the converged accuracy; the report says so.

    nice -n 10 .venv/bin/python benchmarks/bench_scaling.py --path /work/shared/data/amazon-sports-5core \\
        --models pop,recent_pop,itemknn,markov,sasrec_ce,forecaster,fusion --epochs 1 \\
        --out benchmarks/results/sports-scaling
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

TORCH_MODELS = {"sasrec_ce", "forecaster", "fusion"}


def run_child(cmd: list[str], env: dict[str, str]) -> tuple[int, float]:
    """Run ``cmd``; its exit status and its own peak RSS in MiB (``wait4``'s rusage is this child's alone)."""
    proc = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="csv")
    ap.add_argument("--path", type=Path, default=None)
    ap.add_argument("--models", default="pop,recent_pop,itemknn,markov,sasrec_ce,forecaster")
    ap.add_argument("--epochs", type=int, default=None, help="cap for the torch models (say so when reporting)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=Path, default=Path("runs"), help="where the eval runs are written")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    evorec = Path(sys.executable).with_name("evorec")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    rows = []
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        name = f"scaling-{model}-{stamp}"
        cmd = [str(evorec), "eval", "--dataset", args.dataset, "--models", model, "--seed", str(args.seed),
               "--threads", str(args.threads), "--out", str(args.runs), "--name", name, "--no-plots", "--no-mix"]
        if args.path is not None:
            cmd += ["--path", str(args.path)]
        if args.epochs and model in TORCH_MODELS:  # fusion trains its forecaster inside its fit
            cmd += ["--set", f'fusion.forecaster={{"epochs": {args.epochs}}}' if model == "fusion"
                    else f"{model}.epochs={args.epochs}"]
        print(" ".join(cmd), flush=True)
        t0 = time.perf_counter()
        rc, process_rss = run_child(cmd, {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                                          "MKL_NUM_THREADS": "1"})
        wall = time.perf_counter() - t0
        if rc != 0:
            rows.append({"model": model, "ok": False, "process_wall_s": wall, "returncode": rc,
                         "process_peak_rss_mb": process_rss, "command": " ".join(cmd)})
            continue
        res = json.loads((args.runs / name / "metrics.json").read_text())
        m = res["models"][0]
        r = m["runs"][0]
        rows.append({"model": model, "ok": True, "process_wall_s": wall, "fit_s": r["fit_seconds"],
                     "fit_cpu_s": r["fit_cpu_seconds"], "score_s": r["score_seconds"], "peak_rss_mb": r["peak_rss_mb"],
                     "process_peak_rss_mb": process_rss,
                     "epochs_run": r["epochs_run"], "epochs_cap": args.epochs if model in TORCH_MODELS else None,
                     "NDCG@10": m["metrics"]["NDCG@10"], "HR@10": m["metrics"]["HR@10"],
                     "dataset": res["dataset"], "command": " ".join(cmd)})
        (args.out / "scaling.json").write_text(json.dumps(rows, indent=2))
    (args.out / "scaling.json").write_text(json.dumps(rows, indent=2))
    lines = ["# Scaling: fit time and peak RSS per model (one model per process, 1 torch/BLAS thread)", "",
             "| model | fit wall (s) | fit CPU (s) | score test (s) | peak RSS (MiB) | epochs | NDCG@10 | HR@10 |",
             "|---|---:|---:|---:|---:|---|---:|---:|"]
    # peak RSS: the whole process (dataset, split, fit, scoring every test case), from wait4
    for r in rows:
        if not r["ok"]:
            rss = r["process_peak_rss_mb"]
            lines.append(f"| {r['model']} | failed (exit {r['returncode']}) | | | {rss:.0f} | | | |")
            continue
        ep = f"{r['epochs_run']} (capped at {r['epochs_cap']}: accuracy not converged)" if r["epochs_cap"] else \
            str(r["epochs_run"])
        lines.append(f"| {r['model']} | {r['fit_s']:.0f} | {r['fit_cpu_s']:.0f} | {r['score_s']:.0f} | "
                     f"{r['process_peak_rss_mb']:.0f} | {ep} | {r['NDCG@10']:.4f} | {r['HR@10']:.4f} |")
    lines += ["", "Commands: see scaling.json. The machine is shared (2 cores, 7 engineers): wall times are inflated; "
              "CPU seconds are the steadier figure."]
    (args.out / "scaling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
