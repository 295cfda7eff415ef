"""PNG plots of an evaluation run (matplotlib, non-interactive backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from evorec.evals.results import EvalResult, MixResult


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


def mix_bars(mix: MixResult, path: Path, title: str = "") -> Path:
    """Mean JS and KL divergence of each category-mix forecast (sd error bars over seeds when there are several)."""
    names = list(mix.methods)
    colors = model_colors(len(names))
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.8))
    for ax, metric, label in ((axes[0], "js", "mean Jensen–Shannon"), (axes[1], "kl", "mean KL(realised ‖ forecast)")):
        err = [getattr(mix.methods[n], f"{metric}_sd") for n in names] if len(mix.seeds) > 1 else None
        ax.bar(range(len(names)), [getattr(mix.methods[n], metric) for n in names], color=colors, yerr=err,
               capsize=3)
        ax.set_xticks(range(len(names)), [n.replace("_", " ") for n in names], rotation=25, ha="right", fontsize=8)
        ax.set_ylabel(f"{label} (lower is better)", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"Category mix of the next {mix.horizon} events{' · ' + title if title else ''}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(result: EvalResult, run_dir: Path) -> list[Path]:
    out = [metric_bars(result, run_dir / "metrics.png"),
           ndcg_by_history_length(result, run_dir / "ndcg10_by_history_length.png")]
    if result.mix is not None:
        out.append(mix_bars(result.mix, run_dir / "category_mix.png", result.dataset.name))
    return out
