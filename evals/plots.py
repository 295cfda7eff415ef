"""PNG plots of an evaluation run (matplotlib, non-interactive backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from evorec.evals.results import EvalResult


def model_colors(n: int) -> list:
    """One distinct colour per model: matplotlib's 10-colour cycle repeats past ten (an ablation run has more)."""
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


def metric_bars(result: EvalResult, path: Path) -> Path:
    """Grouped bars: HR@K, NDCG@K and MRR per model; error bars = sd over seeds when the run had several."""
    names = [n for n in result.metric_names() if n.startswith(("HR@", "NDCG@", "MRR"))]
    several = len(result.seeds) > 1
    models = [m.name for m in result.models]
    x = np.arange(len(names))
    width = 0.8 / max(len(models), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(names) + 2), 4.2))
    colors = model_colors(len(models))
    for j, m in enumerate(result.models):
        err = [m.metrics_sd.get(n, 0.0) for n in names] if several else None
        ax.bar(x + (j - (len(models) - 1) / 2) * width, [m.metrics.get(n, 0.0) for n in names], width, label=m.name,
               yerr=err, capsize=2 if several else 0, error_kw={"elinewidth": 0.8}, color=colors[j])
    ax.set_xticks(x, names, fontsize=8, rotation=30 if len(names) > 8 else 0)
    ax.set_ylabel("score" + (f" (mean ± sd, {len(result.seeds)} seeds)" if several else ""))
    ax.set_title(f"{result.dataset.name} · {result.config.protocol} · full-catalog ranking")
    ax.legend(fontsize=8, ncols=min(len(models), 4))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def ndcg_by_history_length(result: EvalResult, path: Path) -> Path:
    """NDCG@10 per test-history length bucket, one line per model (case counts on the axis)."""
    if not result.models:
        raise ValueError("no models")
    buckets = result.models[0].by_history_length
    labels = [f"{b.label}\n(n={b.n})" for b in buckets]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.0 * len(labels) + 2) + 2.0, 4.2))
    for m, color in zip(result.models, model_colors(len(result.models)), strict=True):
        ax.plot(range(len(m.by_history_length)), [b.ndcg10 for b in m.by_history_length], marker="o", label=m.name,
                color=color)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("events in the test-time history")
    ax.set_ylabel("NDCG@10")
    ax.set_title(f"NDCG@10 by history length · {result.dataset.name} · {result.config.protocol}")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)  # never over the lines
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def mix_bars(result: EvalResult, path: Path) -> Path:
    """Mean JS divergence of the category-mix forecast vs the two naive forecasts."""
    assert result.mix is not None
    names = list(result.mix.methods)
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    err = [result.mix.methods[n].js_sd for n in names] if len(result.mix.seeds) > 1 else None
    ax.bar(names, [result.mix.methods[n].js for n in names], color=["C0", "C1", "C2", "C3"][: len(names)],
           yerr=err, capsize=3)
    ax.set_ylabel("mean Jensen–Shannon (lower is better)")
    ax.set_title(f"category mix of the next {result.mix.horizon} events")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(result: EvalResult, run_dir: Path) -> list[Path]:
    out = [metric_bars(result, run_dir / "metrics.png"),
           ndcg_by_history_length(result, run_dir / "ndcg10_by_history_length.png")]
    if result.mix is not None:
        out.append(mix_bars(result, run_dir / "category_mix.png"))
    return out
