"""Ranking benchmark: fused ranker vs the forecaster alone (with per-source ablations), and the latency of
``Toolbox.rank_candidates``.

accuracy: ML-100K leave-one-out, full-catalog ranking (EVALS' split and metrics; seen items masked, the target
never). One forecaster is fitted (early stopping on the validation targets) and shared by every fusion variant,
each of which fits its own weights on the validation targets; all are scored on the same test targets.

latency: a real Toolbox (embedded Chroma, forecaster and fusion artifacts) on the chosen dataset; one user, k=10;
"cold user" = models loaded, first request for that user (history read, forecast, statsmodels trends, fusion);
"warm" = the same request again (the per-user caches the agent's earlier tool calls fill).

    .venv/bin/python benchmarks/bench_rank.py accuracy --dataset ml-100k --out runs/bench_rank
    .venv/bin/python benchmarks/bench_rank.py latency --dataset ml-100k --users 200
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

console = Console()
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False)

ABLATIONS: dict[str, dict[str, Any]] = {
    "fusion": {},
    "fusion -cooc": {"exclude_sources": ["cooc"]},
    "fusion -semantic": {"exclude_sources": ["semantic"]},
    "fusion -trending": {"exclude_sources": ["trending"]},
    "fusion -popular": {"exclude_sources": ["popular"]},
    "fusion forecaster-pool only": {"exclude_sources": ["cooc", "semantic", "trending", "popular"]},
    "fusion -trend labels": {"use_trends": False},
}


def _threads(n: int) -> None:
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n)
    threadpool_limits(n)


@app.command()
def accuracy(
    dataset: Annotated[str, typer.Option()] = "ml-100k",
    out: Annotated[Path, typer.Option()] = Path("runs/bench_rank"),
    seed: Annotated[int, typer.Option()] = 0,
    threads: Annotated[int, typer.Option()] = 2,
    max_seconds: Annotated[float | None, typer.Option(help="Wall-clock cap on forecaster training.")] = None,
    variants: Annotated[str, typer.Option(help="Comma-separated subset of the fusion variants.")] = ",".join(ABLATIONS),
) -> None:
    """Fusion vs forecaster (and ablations) on leave-one-out full ranking."""
    from evorec.evals.metrics import ranking_metrics, target_ranks
    from evorec.settings import get_settings
    from evorec.tools.data.loader import load_dataset
    from evorec.tools.data.sequences import SequenceData
    from evorec.tools.data.splits import leave_one_out
    from evorec.tools.forecast.artifacts import item_text_embeddings
    from evorec.tools.models import create_model

    _threads(threads)
    cmd = "python " + " ".join(sys.argv)
    settings = get_settings()
    ds = load_dataset(dataset, settings=settings)
    data = SequenceData.from_dataset(ds)
    data.item_text_emb = item_text_embeddings(ds, data.vocab)
    split = leave_one_out(data)
    fc_cfg: dict[str, Any] = {"device": "cpu", "threads": threads}
    if max_seconds:
        fc_cfg["max_seconds"] = max_seconds
    t0 = time.perf_counter()
    fc = create_model("forecaster", **fc_cfg)
    fc_report = fc.fit(split.train, split.valid, seed=seed, progress=True)
    fit_s = {"forecaster": time.perf_counter() - t0}
    rows: dict[str, dict[str, float]] = {}
    summaries: dict[str, Any] = {}
    t0 = time.perf_counter()
    scores = fc.full_sort_predict(split.test.histories)
    rows["forecaster"] = ranking_metrics(target_ranks(scores, split.test.histories, split.test.targets))
    rows["forecaster"]["predict_s"] = time.perf_counter() - t0
    console.print(f"forecaster: NDCG@10 {rows['forecaster']['NDCG@10']:.4f}", highlight=False)
    for name in [v.strip() for v in variants.split(",") if v.strip()]:
        t0 = time.perf_counter()
        m = create_model("fusion", fitted_forecaster=fc, **ABLATIONS[name])
        m.fit(split.train, split.valid, seed=seed, progress=False)
        fit_s[name] = time.perf_counter() - t0
        t0 = time.perf_counter()
        s = m.full_sort_predict(split.test.histories)
        rows[name] = ranking_metrics(target_ranks(s, split.test.histories, split.test.targets))
        rows[name]["predict_s"] = time.perf_counter() - t0
        summaries[name] = m.summary.model_dump() if m.summary else None
        console.print(f"{name}: NDCG@10 {rows[name]['NDCG@10']:.4f} (chose {m.summary.chosen if m.summary else '?'})",
                      highlight=False)
    base = rows["forecaster"]
    t = Table(title=f"{dataset} leave-one-out, full ranking ({len(split.test.targets)} test users)")
    for col in ("model", "HR@10", "NDCG@10", "NDCG@10 / forecaster", "HR@20", "MRR", "fit s"):
        t.add_column(col, justify="right" if col != "model" else "left")
    for name, r in rows.items():
        t.add_row(name, f"{r['HR@10']:.4f}", f"{r['NDCG@10']:.4f}", f"{r['NDCG@10'] / base['NDCG@10']:.3f}",
                  f"{r['HR@20']:.4f}", f"{r['MRR']:.4f}", f"{fit_s.get(name, 0):.0f}")
    console.print(t)
    console.print(f"repeat: {cmd}", highlight=False)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"accuracy-{dataset}.json"
    path.write_text(json.dumps({"command": cmd, "dataset": dataset, "fingerprint": ds.fingerprint(),
                                "forecaster_fit": fc_report.model_dump(), "metrics": rows, "fit_seconds": fit_s,
                                "fusion_fit": summaries}, indent=2))
    console.print(f"wrote {path}", highlight=False)


@app.command()
def latency(
    dataset: Annotated[str, typer.Option()] = "ml-100k",
    home: Annotated[Path, typer.Option(help="EVOREC_HOME for the benchmark's store and artifacts.")]
    = Path("runs/bench_rank/home"),
    users: Annotated[int, typer.Option(help="Users timed.")] = 200,
    epochs: Annotated[int, typer.Option(help="Forecaster epochs if it has to be trained (latency does not depend on "
                                              "them).")] = 3,
    threads: Annotated[int, typer.Option()] = 1,
    k: Annotated[int, typer.Option()] = 10,
) -> None:
    """p50/p95 of rank_candidates for one user, k=10: cold user (first request) and warm (repeat)."""
    from evorec.settings import Settings
    from evorec.tools.constraints import Constraints
    from evorec.tools.data.loader import load_dataset
    from evorec.tools.forecast.artifacts import artifacts_path, train_artifacts
    from evorec.tools.ranking.training import fit_fusion, fusion_dir
    from evorec.tools.store.history import HistoryStore
    from evorec.tools.toolbox import Toolbox

    _threads(threads)
    cmd = "python " + " ".join(sys.argv)
    settings = Settings(home=home.resolve(), chroma_mode="embedded", llm="none", threads=threads, device="cpu")
    ds = load_dataset(dataset, settings=settings)
    store = HistoryStore.open(settings, ds.name)
    if store.manifest.get("fingerprint") != ds.fingerprint() or not store.is_ingested:
        console.print("ingesting into the benchmark store ...")
        store.ingest(ds, progress=True)
    if not (artifacts_path(settings, ds.name) / "manifest.json").is_file():
        console.print(f"training a {epochs}-epoch forecaster for the benchmark ...")
        train_artifacts(ds, settings, epochs=epochs, progress=True)
    if not (fusion_dir(settings, ds.name) / "manifest.json").is_file():
        fit_fusion(settings, ds, progress=True)
    tb = Toolbox.open(settings, data=ds)
    rng = np.random.default_rng(0)
    all_users = sorted(ds.interactions["user_id"].unique())
    picked = [all_users[i] for i in rng.choice(len(all_users), size=min(users, len(all_users)), replace=False)]
    c = Constraints(k=k)
    tb.rank_candidates(picked[0], c)  # first call pays one-time lazy loads (torch, item table)
    tb.invalidate()
    cold, warm, parts = [], [], []
    for u in picked:
        t0 = time.perf_counter()
        r = tb.rank_candidates(u, c)
        cold.append(1000 * (time.perf_counter() - t0))
        parts.append(r.timings_ms)
        t0 = time.perf_counter()
        tb.rank_candidates(u, c)
        warm.append(1000 * (time.perf_counter() - t0))

    def pcts(x: list[float]) -> str:
        return f"p50 {np.percentile(x, 50):.1f} ms, p95 {np.percentile(x, 95):.1f} ms, mean {np.mean(x):.1f} ms"

    t = Table(title=f"rank_candidates latency, {dataset}, {len(picked)} users, k={k}, {threads} thread(s)")
    t.add_column("case")
    t.add_column("latency")
    t.add_row("warm (per-user caches filled)", pcts(warm))
    t.add_row("cold user (models loaded, first request)", pcts(cold))
    for key in ("history", "forecast", "trends", "signals", "rank", "explain"):
        vals = [p.get(key, 0.0) for p in parts]
        t.add_row(f"  cold user: {key}", pcts(vals))
    console.print(t)
    console.print("goal (issue 5): warm p50 <= 20 ms, p95 <= 50 ms", highlight=False)
    console.print(f"repeat: {cmd}", highlight=False)
    out = home.parent / f"latency-{dataset}.json"
    out.write_text(json.dumps({"command": cmd, "warm_ms": warm, "cold_ms": cold, "parts": parts,
                               "warm_p50": float(np.percentile(warm, 50)), "warm_p95": float(np.percentile(warm, 95)),
                               "cold_p50": float(np.percentile(cold, 50)), "cold_p95": float(np.percentile(cold, 95))},
                              indent=2))
    console.print(f"wrote {out}", highlight=False)


if __name__ == "__main__":
    app()
