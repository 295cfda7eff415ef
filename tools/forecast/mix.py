"""Category mixes: the share of each category in a window of a user's events.

An event counts once, split evenly over its item's categories. The forecaster is trained
to predict the mix of the NEXT ``horizon`` events; these helpers define that target, the
"current mix" the service shows, and the divergences the evaluation reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from evorec.tools.data.sequences import History

EPS = 1e-6


def category_weights(item_categories: np.ndarray) -> np.ndarray:
    """Row-normalised multi-hot [n_items + 1, C]: each item's unit of interest split over its categories."""
    mh = np.asarray(item_categories, dtype=np.float32)
    totals = mh.sum(axis=1, keepdims=True)
    return np.divide(mh, totals, out=np.zeros_like(mh), where=totals > 0)


def window_mix(items: np.ndarray, cat_w: np.ndarray) -> np.ndarray:
    """Share per category over the given events (zeros when none carry a category)."""
    if len(items) == 0:
        return np.zeros(cat_w.shape[1], dtype=np.float64)
    m = cat_w[np.asarray(items, dtype=np.int64)].sum(axis=0).astype(np.float64)
    s = m.sum()
    return m / s if s > 0 else m


def future_mix_targets(items: np.ndarray, cat_w: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """For each input position t (all events but the last): mix of events t+1..t+horizon, and a weight.

    The weight is the fraction of the horizon actually observed (short tails count less).
    """
    n = len(items)
    if n < 2:
        return np.zeros((0, cat_w.shape[1]), np.float32), np.zeros(0, np.float32)
    per = cat_w[items].astype(np.float64)  # [n, C]
    csum = np.vstack([np.zeros((1, per.shape[1])), np.cumsum(per, axis=0)])
    t = np.arange(n - 1)
    hi = np.minimum(t + 1 + horizon, n)
    sums = csum[hi] - csum[t + 1]
    tot = sums.sum(axis=1, keepdims=True)
    mix = np.divide(sums, tot, out=np.zeros_like(sums), where=tot > 0)
    weight = np.where(tot[:, 0] > 0, (hi - t - 1) / horizon, 0.0)
    return mix.astype(np.float32), weight.astype(np.float32)


def smooth(p: np.ndarray, eps: float = EPS) -> np.ndarray:
    q = np.asarray(p, dtype=np.float64) + eps
    return q / q.sum(axis=-1, keepdims=True)


def kl_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL(p || q) per row, natural log, both smoothed so empty categories stay finite."""
    p, q = smooth(p), smooth(q)
    return (p * (np.log(p) - np.log(q))).sum(axis=-1)


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence per row (natural log, in [0, ln 2])."""
    p, q = smooth(p), smooth(q)
    m = 0.5 * (p + q)
    return 0.5 * (p * (np.log(p) - np.log(m))).sum(axis=-1) + 0.5 * (q * (np.log(q) - np.log(m))).sum(axis=-1)


def naive_mixes(histories: list[History], cat_w: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(last-window mix, all-time mix) per history, ``[n, C]`` each."""
    if not histories:
        return np.zeros((0, cat_w.shape[1])), np.zeros((0, cat_w.shape[1]))
    return (np.stack([window_mix(h.items[-horizon:], cat_w) for h in histories]),
            np.stack([window_mix(h.items, cat_w) for h in histories]))
