"""Per-category interest series of one user: weighted counts and shares per time bucket.

An event counts once, split evenly over its item's categories (the same convention as the
forecaster's category mix), so the shares of a non-empty bucket sum to 1. Empty buckets are
zeros in ``counts`` and ``shares``. The models are fitted on ``filled``: each bucket's share
shrunk toward the previous filled share by ``smoothing_events`` pseudo-events,
filled_t = (counts_t + k * filled_{t-1}) / (totals_t + k), so a bucket of one event does not
swing the series from 0 to 1 and an empty bucket (an empty bucket says nothing about the mix)
carries the previous share. ``filled`` is linear in ``shares``: ``filled = mix @ shares``, which
the confidence intervals use to propagate each bucket's binomial noise.

The bucket width comes from the user's own span and density: about ``events_per_bucket``
events per bucket, at least ``min_buckets`` and at most ``max_buckets`` of them, snapped to a
readable width (minutes ... quarters) when one fits. A heavy user over a month gets daily
buckets; a light user over five years gets monthly or quarterly ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from evorec.tools.trends.config import TrendConfig
from evorec.tools.trends.events import TrendEvent

MIN, HOUR, DAY = 60, 3600, 86_400
NICE_WIDTHS: list[tuple[int, str]] = [
    (MIN, "1 minute"), (5 * MIN, "5 minutes"), (15 * MIN, "15 minutes"), (30 * MIN, "30 minutes"),
    (HOUR, "1 hour"), (3 * HOUR, "3 hours"), (6 * HOUR, "6 hours"), (12 * HOUR, "12 hours"),
    (DAY, "1 day"), (2 * DAY, "2 days"), (3 * DAY, "3 days"), (7 * DAY, "1 week"), (14 * DAY, "2 weeks"),
    (30 * DAY, "30 days"), (61 * DAY, "2 months"), (91 * DAY, "3 months"), (182 * DAY, "6 months"),
    (365 * DAY, "1 year"),
]


def humanise_seconds(s: float) -> str:
    """'60 days', '3 weeks', '6 hours', '15 minutes', '40 seconds' (rounded to the unit it is closest to)."""
    for unit, name in ((365 * DAY, "year"), (30 * DAY, "month"), (7 * DAY, "week"), (DAY, "day"), (HOUR, "hour"),
                       (MIN, "minute")):
        if s >= 2 * unit or (s >= unit and abs(s / unit - round(s / unit)) < 0.05):
            if unit in (30 * DAY, 365 * DAY) and s < 120 * DAY:  # "60 days" reads better than "2 months"
                unit, name = DAY, "day"
            n = round(s / unit)
            return f"{n} {name}{'s' if n != 1 else ''}"
    n = max(1, round(s))
    return f"{n} second{'s' if n != 1 else ''}"


@dataclass(frozen=True)
class Bucketing:
    width_s: int
    n_buckets: int
    end_ts: int  # exclusive end of the last bucket (last event ts + 1)
    label: str

    @property
    def edges(self) -> np.ndarray:
        return self.end_ts - self.width_s * np.arange(self.n_buckets, -1, -1, dtype=np.int64)

    def index_of(self, ts: np.ndarray) -> np.ndarray:
        start = self.end_ts - self.width_s * self.n_buckets
        return np.clip((np.asarray(ts, dtype=np.int64) - start) // self.width_s, 0, self.n_buckets - 1)


def choose_bucketing(first_ts: int, last_ts: int, n_events: int, cfg: TrendConfig) -> Bucketing:
    span = max(1, last_ts - first_ts + 1)
    if n_events < cfg.min_events_for_models:
        lo, hi, target = cfg.short_buckets, cfg.short_buckets, cfg.short_buckets
    else:
        lo, hi = cfg.min_buckets, cfg.max_buckets
        target = min(hi, max(lo, round(n_events / cfg.events_per_bucket)))
    best: tuple[float, int, str] | None = None
    for width, label in NICE_WIDTHS:
        t = math.ceil(span / width)
        if lo <= t <= hi:
            err = abs(math.log(t / target))
            if best is None or err < best[0]:
                best = (err, width, label)
    if best is None:
        width = max(1, math.ceil(span / target))
        label = humanise_seconds(width)
    else:
        width, label = best[1], best[2]
    return Bucketing(width_s=int(width), n_buckets=max(1, math.ceil(span / width)), end_ts=int(last_ts) + 1,
                     label=label)


@dataclass
class InterestSeries:
    """One user's series over the categories they touched (columns in ``categories`` order)."""

    categories: list[str]
    bucketing: Bucketing
    event_ts: np.ndarray  # int64 [n]
    event_weights: np.ndarray  # float [n, C]: each event's unit split over its categories
    event_bucket: np.ndarray  # int64 [n]
    counts: np.ndarray  # float [T, C]
    totals: np.ndarray  # float [T]
    shares: np.ndarray  # float [T, C], zeros in empty buckets
    filled: np.ndarray  # float [T, C], shrunk toward the previous share; empty buckets carry it
    mix: np.ndarray  # float [T, T]: filled = mix @ shares

    @property
    def n_buckets(self) -> int:
        return self.bucketing.n_buckets

    @property
    def n_events(self) -> int:
        return len(self.event_ts)

    def segment_start(self, ts: int, min_buckets: int) -> int:
        """First non-empty bucket wholly after ``ts``, or 0 when fewer than ``min_buckets`` would remain."""
        start = int(self.bucketing.index_of(np.array([ts]))[0]) + 1
        while start < self.n_buckets and self.totals[start] <= 0:
            start += 1
        return start if self.n_buckets - start >= min_buckets else 0

    def recent_buckets(self, fraction: float) -> int:
        return max(1, min(self.n_buckets - 1, round(self.n_buckets * fraction)))


def shrink_matrix(totals: np.ndarray, k: float) -> np.ndarray:
    """``mix`` with filled = mix @ shares; filled_t = (counts_t + k filled_t-1) / (totals_t + k)."""
    n = len(totals)
    mix = np.zeros((n, n))
    if n == 0:
        return mix
    mix[0, 0] = 1.0
    for t in range(1, n):
        keep = k / (totals[t] + k)
        mix[t] = keep * mix[t - 1]
        mix[t, t] += 1 - keep
    return mix


def build_series(events: list[TrendEvent], known_categories: list[str] | None, cfg: TrendConfig) -> InterestSeries:
    """Series over the categories present in ``events`` (ordered as in ``known_categories``, unknown ones last)."""
    order = {c: i for i, c in enumerate(known_categories or [])}
    present: dict[str, None] = {}
    for e in events:
        for c in e.categories:
            present.setdefault(c, None)
    cats = sorted(present, key=lambda c: (order.get(c, len(order)), c))
    col = {c: j for j, c in enumerate(cats)}
    kept = [e for e in events if e.categories]
    ts = np.array([e.ts for e in kept], dtype=np.int64)
    w = np.zeros((len(kept), len(cats)), dtype=np.float64)
    for i, e in enumerate(kept):
        uniq = list(dict.fromkeys(e.categories))
        for c in uniq:
            w[i, col[c]] += 1.0 / len(uniq)
    b = choose_bucketing(int(ts[0]), int(ts[-1]), len(kept), cfg) if len(kept) else \
        Bucketing(width_s=DAY, n_buckets=1, end_ts=1, label="1 day")
    idx = b.index_of(ts)
    counts = np.zeros((b.n_buckets, len(cats)))
    np.add.at(counts, idx, w)
    totals = counts.sum(axis=1)
    shares = np.divide(counts, totals[:, None], out=np.zeros_like(counts), where=totals[:, None] > 0)
    mix = shrink_matrix(totals, cfg.smoothing_events)  # the first event anchors bucket 0: never empty
    filled = mix @ shares
    return InterestSeries(categories=cats, bucketing=b, event_ts=ts, event_weights=w, event_bucket=idx,
                          counts=counts, totals=totals, shares=shares, filled=filled, mix=mix)
