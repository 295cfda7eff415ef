"""PNG of one user's trends: each category's share per bucket, its forecast with band, labels and change points."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from evorec.errors import InvalidRequestError
from evorec.tools.trends.results import UserTrends

LABEL_WORDS = {"emerging": "new, growing", "rising": "growing", "stable": "steady", "fading": "fading",
               "dormant": "stopped"}


def plot_user_trends(trends: UserTrends, path: Path, max_categories: int = 8) -> Path:
    if not trends.ok:
        raise InvalidRequestError(f"no trends to plot for user {trends.user_id}: {trends.reason}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    edges = np.array(trends.bucket_edges, dtype=np.int64)
    width = int(trends.bucket_width_s or 1)
    mids = [datetime.fromtimestamp(int(t), UTC) for t in (edges[:-1] + width // 2)]
    events = np.array(trends.bucket_events or [1.0] * len(mids))
    fig, ax = plt.subplots(figsize=(11, 5.5))
    colors = plt.get_cmap("tab10")
    shown = sorted(trends.categories, key=lambda c: (c.label == "stable", -c.events))[:max_categories]
    notes: list[tuple[float, str, object, datetime]] = []  # end-of-forecast labels, placed apart below
    for i, c in enumerate(shown):
        col = colors(i % 10)
        hist = np.array([np.nan if v is None else v for v in c.history], dtype=float)
        hist[events <= 0] = np.nan  # an empty bucket has no share
        ax.plot(mids, hist, "o-", color=col, lw=1.4, ms=3, alpha=0.9,
                label=f"{c.category}: {LABEL_WORDS[c.label]}")
        f = c.forecast
        last = int(edges[-1])
        fx = [datetime.fromtimestamp(last + width * j + width // 2, UTC) for j in range(f.horizon)]
        ax.plot(fx, f.mean, "--", color=col, lw=1.6)
        ax.fill_between(fx, f.lower, f.upper, color=col, alpha=0.12)
        if c.change is not None:
            ax.axvline(datetime.fromtimestamp(c.change.ts, UTC), color=col, ls=":", lw=1.2)
        if c.label != "stable":
            notes.append((float(f.mean[-1]), LABEL_WORDS[c.label], col, fx[-1]))
    placed: list[float] = []
    for y0, text, note_col, x in sorted(notes, key=lambda n: n[0]):  # no two labels on top of each other
        y = max([y0, *(p + 0.06 for p in placed)])
        placed.append(y)
        ax.annotate(text, (x, y), xytext=(4, 0), textcoords="offset points", color=note_col, fontsize=9,
                    fontweight="bold", va="center", annotation_clip=False)
    ax.axvline(datetime.fromtimestamp(int(edges[-1]), UTC), color="grey", lw=0.8)
    recent = int(edges[-1 - trends.recent_buckets])
    ax.axvspan(datetime.fromtimestamp(recent, UTC), datetime.fromtimestamp(int(edges[-1]), UTC), color="grey",
               alpha=0.07, lw=0)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of your picks")
    ax.set_title(f"How your interests moved, per {trends.bucket_label}", fontsize=12)
    band = round(100 * trends.interval_level)
    fig.text(0.01, 0.01, f"Dots: what you picked. Dashed: what to expect, with a {band} % "
             "band. Dotted line: where a change began. Shaded: your recent period.", fontsize=8, color="#555")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="interest", title_fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
