"""The interest-evolution chart: category shares over time, the forecast with its band, trend labels.

Observed shares come from the user's history (equal-width time buckets; an event in
several categories counts 1/n to each). The forecast part comes from the forecaster's
forecast mix, with the trend models' prediction interval as the band where they have one.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import numpy as np

MAX_CATEGORIES = 5
N_BUCKETS = 12


def observed_shares(events: list[Any], n_buckets: int = N_BUCKETS) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(bucket centre times, {category: share per bucket}) from events with ``ts`` and ``categories``."""
    ts = np.array([int(e.ts) for e in events], dtype=np.int64)
    if ts.size == 0:
        return np.zeros(0), {}
    lo, hi = int(ts.min()), int(ts.max())
    n = max(1, min(n_buckets, ts.size // 3 or 1))
    edges = np.linspace(lo, hi + 1, n + 1)
    idx = np.clip(np.searchsorted(edges, ts, side="right") - 1, 0, n - 1)
    totals = np.bincount(idx, minlength=n).astype(float)
    shares: dict[str, np.ndarray] = {}
    for b, e in zip(idx, events, strict=True):
        cats = list(e.categories or []) or ["(none)"]
        for c in cats:
            shares.setdefault(c, np.zeros(n))[b] += 1.0 / len(cats)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = {c: np.where(totals > 0, v / np.maximum(totals, 1), np.nan) for c, v in shares.items()}
    centres = (edges[:-1] + edges[1:]) / 2
    return centres, shares


def _date(t: float) -> datetime:
    return datetime.fromtimestamp(float(t), tz=UTC)


def render_interest_png(user_id: str, events: list[Any], forecast_mix: dict[str, float],
                        current_mix: dict[str, float], labels: dict[str, str],
                        bands: dict[str, tuple[float, float]], cold_start: bool = False) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.0, 4.2), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    centres, shares = observed_shares(events)
    totals = {c: float(np.nansum(v)) for c, v in shares.items()}
    ranked = sorted(set(totals) | set(forecast_mix), key=lambda c: -(forecast_mix.get(c, 0.0) + totals.get(c, 0.0)))
    top = [c for c in ranked if c != "(none)"][:MAX_CATEGORIES]
    palette = ["#2f6fdd", "#e4572e", "#17a398", "#f3a712", "#7b4bb7", "#66707c"]
    if centres.size:
        span = max(float(centres[-1] - centres[0]), 86400.0)
        future = float(centres[-1]) + max(span / max(len(centres) - 1, 1), span * 0.15)
    else:
        future = datetime.now(UTC).timestamp()
    for color, cat in zip(palette, top, strict=False):
        label = cat + (f" ({labels[cat]})" if cat in labels else "")
        if centres.size and cat in shares:
            ax.plot([_date(t) for t in centres], shares[cat], marker="o", ms=3, lw=1.8, color=color, label=label)
            label = None
            start_t, start_v = float(centres[-1]), float(current_mix.get(cat, shares[cat][-1]))
        else:
            start_t, start_v = future, float(current_mix.get(cat, 0.0))
        if cat in forecast_mix:
            fv = float(forecast_mix[cat])
            ax.plot([_date(start_t), _date(future)], [start_v, fv], ls="--", lw=1.8, color=color, label=label)
            ax.scatter([_date(future)], [fv], color=color, marker="D", s=22, zorder=3)
            if cat in bands:
                lo, hi = bands[cat]
                ax.fill_between([_date(start_t), _date(future)], [start_v, max(0.0, lo)], [start_v, min(1.0, hi)],
                                color=color, alpha=0.15, lw=0)
    if centres.size:
        ax.axvline(_date(centres[-1]), color="#999", lw=0.8, ls=":")
        ax.text(_date(centres[-1]), 1.02, " now", color="#666", fontsize=8, va="bottom")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of the user's events")
    title = f"Interest evolution, user {user_id}"
    if cold_start:
        title += " (no history: population mix)"
    ax.set_title(title + "   (solid: observed, dashed: forecast, band: interval)", fontsize=10)
    if top:
        ax.legend(loc="upper left", fontsize=8, frameon=False, ncol=2)
    else:
        ax.text(0.5, 0.5, "no interests to show yet", ha="center", va="center", transform=ax.transAxes)
    fig.autofmt_xdate()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
