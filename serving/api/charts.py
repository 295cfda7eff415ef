"""The interest-evolution chart: category shares over time, the forecast with its band, trend labels.

With enough history the series, forecast and prediction band are the trend models' own
(statsmodels, per time bucket); the sequence forecaster's predicted mix is drawn as a
diamond at the end of the forecast window. With too little history for trend fits, shares
are computed from the raw events and only the forecaster's mix is shown ahead.
"""

from __future__ import annotations

import io
import warnings
from datetime import UTC, datetime
from typing import Any

import numpy as np

from evorec.tools import InterestForecast, UserTrends

MAX_CATEGORIES = 5
N_BUCKETS = 12
BANDS = 3  # prediction bands drawn for the top categories only (more overlap into mush)
LABEL_WORDS = {"emerging": "new, growing", "rising": "growing", "stable": "steady", "fading": "fading",
               "dormant": "stopped"}
PALETTE = ["#2f6fdd", "#e4572e", "#17a398", "#f3a712", "#7b4bb7", "#66707c"]


def observed_shares(events: list[Any], n_buckets: int = N_BUCKETS) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(bucket centre times, {category: share per bucket}) from events with ``ts`` and ``categories``;
    an event in n categories counts 1/n to each."""
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
    out = {c: np.where(totals > 0, v / np.maximum(totals, 1), np.nan) for c, v in shares.items()}
    return (edges[:-1] + edges[1:]) / 2, out


def _rolling(v: np.ndarray, w: int = 3) -> np.ndarray:
    out = np.full_like(v, np.nan)
    for i in range(len(v)):
        win = v[max(0, i - w + 1):i + 1]
        if np.isfinite(win).any():
            out[i] = np.nanmean(win)
    return out


def _dates(ts: Any) -> list[Any]:
    """Datetimes for an x axis (matplotlib converts them through its units registry; its stubs expect numbers)."""
    return [datetime.fromtimestamp(float(t), tz=UTC) for t in np.atleast_1d(ts)]


def _top(scores: dict[str, float]) -> list[str]:
    return [c for c, _ in sorted(scores.items(), key=lambda kv: -kv[1]) if c != "(none)"][:MAX_CATEGORIES]


def plain_text(fig: Any) -> None:
    """Draw every text of the figure as written: user ids and category names are user data, and matplotlib
    would otherwise parse ``$...$`` in them as mathtext (a crafted id like ``${{{...}}}$`` recursed until
    RecursionError; ``\\`` and ``{}`` change what is shown)."""
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        text.set_parse_math(False)


def render_interest_png(user_id: str, trends: UserTrends, forecast: InterestForecast | None,
                        events: list[Any]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    mix = forecast.forecast_mix if forecast is not None else {}
    fig = Figure(figsize=(8.4, 4.4), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    now: float | None = None
    future_end: float | None = None
    shown: list[str] = []

    if trends.ok and len(trends.bucket_edges) >= 2 and trends.categories:
        edges = np.array(trends.bucket_edges, dtype=float)
        centres = (edges[:-1] + edges[1:]) / 2
        width = float(trends.bucket_width_s or (edges[1] - edges[0]))
        now = float(edges[-1])
        scores = {t.category: t.recent_share + t.forecast.window_mean + mix.get(t.category, 0.0)
                  for t in trends.categories}
        shown = _top(scores)
        for rank, (color, cat) in enumerate(zip(PALETTE, shown, strict=False)):
            t = trends.get(cat)
            assert t is not None
            hist = np.array([np.nan if v is None else v for v in t.history], dtype=float)
            n = min(len(hist), len(centres))
            fitted = np.array([np.nan if v is None else v for v in t.fitted[:n]], dtype=float)
            smooth = fitted if fitted.size == n and np.isfinite(fitted).sum() >= max(2, n // 2) else _rolling(hist[:n])
            x = _dates(centres[:n])
            ax.plot(x, hist[:n], marker="o", ms=2.5, lw=0.8, alpha=0.35, color=color)
            ax.plot(x, smooth, lw=2.0, color=color, label=f"{cat}: {LABEL_WORDS.get(t.label, t.label)}")
            fc = t.forecast
            if fc.mean:
                fut = now + (np.arange(len(fc.mean)) + 0.5) * width
                last = smooth[np.isfinite(smooth)][-1] if np.isfinite(smooth).any() else fc.mean[0]
                ax.plot(_dates(np.concatenate([[centres[n - 1]], fut])), [last, *fc.mean], ls="--", lw=1.8,
                        color=color)
                if rank < BANDS:
                    ax.fill_between(_dates(fut), np.clip(fc.lower, 0, 1), np.clip(fc.upper, 0, 1), color=color,
                                    alpha=0.12, lw=0)
                future_end = float(fut[-1])
    else:
        centres, shares = observed_shares(events)
        scores = {c: float(np.nansum(v)) for c, v in shares.items()}
        for c, v in mix.items():
            scores[c] = scores.get(c, 0.0) + v
        shown = _top(scores)
        if centres.size:
            now = float(centres[-1])
            span = max(float(centres[-1] - centres[0]), 86400.0)
            future_end = now + span * 0.15
        for color, cat in zip(PALETTE, shown, strict=False):
            if cat in shares:
                ax.plot(_dates(centres), shares[cat], marker="o", ms=3, lw=1.8, color=color, label=cat)
            else:
                ax.plot([], [], color=color, label=cat)

    if future_end is None:
        future_end = datetime.now(UTC).timestamp()
    for color, cat in zip(PALETTE, shown, strict=False):
        if cat in mix:
            ax.scatter(_dates(future_end), [mix[cat]], color=color, marker="D", s=30, zorder=3,
                       edgecolors="black", linewidths=0.5)
    if now is not None:
        ax.axvline(_dates(now)[0], color="#999", lw=0.8, ls=":")
        ax.text(_dates(now)[0], 1.02, " now", color="#666", fontsize=8, va="bottom")
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("share of your picks")
    title = "How your interests are changing"
    if forecast is not None and forecast.cold_start:
        title = "What everyone picks (you have no history yet)"
    elif not trends.ok:
        title += " (too little history for trends yet)"
    ax.set_title(title, fontsize=11)
    fig.text(0.01, 0.01, "Faint dots: your share in each period. Solid: the trend. Dashed and band: what to expect "
             f"({round(trends.interval_level * 100)}% range). ◆: where your next picks are heading.",
             fontsize=7.5, color="#555")
    if shown:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    else:
        ax.text(0.5, 0.5, "no interests to show yet", ha="center", va="center", transform=ax.transAxes)
    for label in ax.get_xticklabels():
        label.set_rotation(20)
        label.set_fontsize(8)
    plain_text(fig)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # user ids and category names are user data: a glyph the font lacks is drawn as a box, which is fine
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
        fig.tight_layout(rect=(0, 0.05, 1, 1))
        fig.savefig(buf, format="png")
    return buf.getvalue()
