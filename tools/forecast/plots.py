"""PNG chart of a user's category mix: now vs forecast."""

from __future__ import annotations

from pathlib import Path

from evorec.tools.forecast.result import InterestForecast


def plot_mix(fc: InterestForecast, path: Path, top: int = 8) -> Path:
    """Grouped bars (current share, forecast share) for the user's top categories; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cats = sorted(set(fc.current_mix) | set(fc.forecast_mix),
                  key=lambda c: -max(fc.current_mix.get(c, 0.0), fc.forecast_mix.get(c, 0.0)))[:top]
    x = np.arange(len(cats))
    now = [100 * fc.current_mix.get(c, 0.0) for c in cats]
    nxt = [100 * fc.forecast_mix.get(c, 0.0) for c in cats]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(cats) + 2), 3.6), dpi=120)
    ax.bar(x - 0.2, now, 0.4, label="everyone now" if fc.cold_start else f"your last {fc.horizon} picks")
    ax.bar(x + 0.2, nxt, 0.4, label="expected next" if fc.cold_start else f"expected in your next {fc.horizon}")
    ax.set_xticks(x, cats, rotation=30, ha="right")
    ax.set_ylabel("share of picks (%)")
    ax.set_title("What everyone picks (you have no history yet)" if fc.cold_start
                 else "Your interests now and where they are heading")
    ax.legend(frameon=False)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
