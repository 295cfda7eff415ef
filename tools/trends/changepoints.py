"""Change points of one category's share, found on the event sequence itself (not on buckets).

For category c, x_i is the weight of c in event i (1, 0, or a fraction for multi-category
items). The best single split maximises the binomial likelihood-ratio statistic between "one
share throughout" and "share p1 before, p2 after" (segments of at least ``cp_min_segment``
events). It is a change point when the statistic reaches ``cp_min_lr`` and the shares differ by
at least ``cp_min_jump``. Then a ramp model (p1, linear transition over w events, p2) is fitted
by least squares around the split: a transition no wider than ``sudden_max_width`` of the
events is a *sudden* switch, a wider one a gradual drift with its start and end dates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.stats import chi2

from evorec.tools.trends.config import TrendConfig


@dataclass
class CategoryChange:
    category: str
    index: int  # first event after the change (sudden) / first event of the transition (gradual)
    ts: int  # most likely change time (best split), midway between two events
    start_ts: int  # transition start (== ts when sudden)
    end_ts: int  # transition end
    before: float  # share before the transition
    after: float  # share after it
    lr: float
    width_events: int
    sudden: bool
    n_before: int
    n_after: int

    @property
    def direction(self) -> str:
        return "up" if self.after > self.before else "down"


def _xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x * np.log(np.where(y > 0, y, 1.0)), 0.0)


def _split_lr(x: np.ndarray, m: int) -> tuple[int, float]:
    """Best split k (events [0, k) vs [k, n)) and its binomial LR statistic."""
    n = len(x)
    cs = np.cumsum(x)
    k = np.arange(m, n - m + 1)
    s1, s2 = cs[k - 1], cs[-1] - cs[k - 1]
    n1, n2 = k.astype(float), (n - k).astype(float)
    p1, p2, p = s1 / n1, s2 / n2, cs[-1] / n

    def ll(s: np.ndarray, nn: np.ndarray, q: np.ndarray) -> np.ndarray:
        return _xlogy(s, q) + _xlogy(nn - s, 1 - q)

    g = 2 * (ll(s1, n1, p1) + ll(s2, n2, p2) - ll(s1, n1, np.full_like(p1, p)) - ll(s2, n2, np.full_like(p2, p)))
    j = int(np.argmax(g))
    return int(k[j]), float(g[j])


def _ramp_width(x: np.ndarray, k: int, max_w: int) -> tuple[int, int]:
    """Least-squares ramp (start a, width w) near split k: x = p1 before a, linear to p2 over w events, p2 after."""
    n = len(x)
    best = (np.inf, k, 0)
    cs, cs2 = np.concatenate([[0.0], np.cumsum(x)]), np.concatenate([[0.0], np.cumsum(x * x)])
    for w in range(0, max_w + 1, max(1, n // 30)):
        for a in range(max(1, k - w - 2), min(n - 1, k + 2) + 1, max(1, w // 4)):
            b = a + w
            if b >= n:
                break
            p1 = cs[a] / a
            p2 = (cs[n] - cs[b]) / (n - b)
            sse = (cs2[a] - a * p1 * p1) + ((cs2[n] - cs2[b]) - (n - b) * p2 * p2)
            if w:
                r = x[a:b] - (p1 + (p2 - p1) * (np.arange(1, w + 1) / (w + 1)))
                sse += float(r @ r)
            if sse < best[0] - 1e-12:
                best = (sse, a, w)
    return best[1], best[2]


@lru_cache(maxsize=256)
def _chi2_isf(alpha: float, df: int) -> float:
    return float(chi2.isf(alpha, df))


def _joint_split(w: np.ndarray, m: int) -> tuple[int, float, int]:
    """Best split of the whole category mix (multinomial LR over categories); returns (k, statistic, df)."""
    n = len(w)
    used = w.sum(axis=0) >= 2
    if used.sum() < 2:
        return 0, 0.0, 0
    w = w[:, used]
    cs = np.cumsum(w, axis=0)
    k = np.arange(m, n - m + 1)
    s1, s2 = cs[k - 1], cs[-1] - cs[k - 1]
    n1, n2 = s1.sum(axis=1, keepdims=True), s2.sum(axis=1, keepdims=True)
    p = cs[-1] / cs[-1].sum()
    pb = np.broadcast_to(p, s1.shape)
    g = 2 * (_xlogy(s1, s1 / n1).sum(axis=1) + _xlogy(s2, s2 / n2).sum(axis=1)
             - _xlogy(s1, pb).sum(axis=1) - _xlogy(s2, pb).sum(axis=1))
    j = int(np.argmax(g))
    return int(k[j]), float(g[j]), int(used.sum() - 1)


def _pointwise_lr(x: np.ndarray, k: int) -> float:
    n = len(x)
    s1, s2 = float(x[:k].sum()), float(x[k:].sum())
    p1, p2, p = s1 / k, s2 / (n - k), (s1 + s2) / n

    def ll(s: float, nn: float, q: float) -> float:
        return float(_xlogy(np.array(s), np.array(q)) + _xlogy(np.array(nn - s), np.array(1 - q)))

    return 2 * (ll(s1, k, p1) + ll(s2, n - k, p2) - ll(s1, k, p) - ll(s2, n - k, p))


def detect_changes(categories: list[str], ts: np.ndarray, weights: np.ndarray, cfg: TrendConfig
                   ) -> dict[str, CategoryChange]:
    """The strongest change point of each category that has one.

    Two routes: a category's own max-split test (statistic >= ``cp_min_lr``), or a significant split of
    the whole mix (sup-LR over all categories >= the chi2 quantile at ``cp_joint_alpha``) at which the
    category's own pointwise test reaches ``cp_point_lr``. The joint route has more power when an
    interest arrives or leaves (several shares move at once); a stable mix rarely passes it.
    """
    n = len(ts)
    m = max(cfg.cp_min_segment, math.ceil(cfg.cp_trim * n))
    out: dict[str, CategoryChange] = {}
    if n < 2 * m:
        return out
    kj, gj, df = _joint_split(weights, m)
    joint_ok = df >= 1 and gj >= _chi2_isf(cfg.cp_joint_alpha, df)
    for j, cat in enumerate(categories):
        x = weights[:, j]
        k, lr = _split_lr(x, m)
        if lr < cfg.cp_min_lr and joint_ok:
            k, lr = kj, _pointwise_lr(x, kj)
            if lr < cfg.cp_point_lr:
                continue
        elif lr < cfg.cp_min_lr:
            continue
        before, after = float(x[:k].mean()), float(x[k:].mean())
        if abs(after - before) < cfg.cp_min_jump:
            continue
        a, w = _ramp_width(x, k, max_w=int(0.6 * n))
        sudden = w <= cfg.sudden_max_width * n
        change_ts = int((int(ts[k - 1]) + int(ts[k])) // 2)  # the most likely single change time
        if sudden:
            idx, b = k, k
            start_ts = end_ts = change_ts
        else:
            idx, b = a, min(n - 1, a + w)
            start_ts = int((int(ts[a - 1]) + int(ts[a])) // 2)
            end_ts = int(ts[b])
            before, after = float(x[:a].mean()), float(x[b:].mean()) if b < n else after
        out[cat] = CategoryChange(category=cat, index=idx, ts=change_ts, start_ts=start_ts, end_ts=end_ts,
                                  before=before, after=after, lr=lr, width_events=int(w), sudden=bool(sudden),
                                  n_before=int(idx), n_after=int(n - (b if not sudden else idx)))
    return out
