"""Calibrating the interest head's category-mix forecast on held-out validation windows.

The head alone is sharp: it beats "the last window persists" and the user's all-time mix on KL, but a sharp
forecast that is wrong pays more in Jensen-Shannon than a flat one. The calibrated forecast is a linear pool

    q = w_head * softmax(head_logits / T) + w_recency * recency + w_all * all_time + w_last * last_window
        + w_uni * uniform

(``recency``: the learned recency model's forecast, ``tools.forecast.recency_mix``, when the forecaster has one)

with the temperature ``T`` and the weights (on a simplex grid) chosen on CALIBRATION cases only: windows of
users whose events in that window were held out of training (see ``tools.forecast.evaluate.mix_split``), so the
head's predictions there are out of sample, as they are on the test windows. The choice minimises the worst of
the four ratios (KL and JS, each relative to the all-time and to the last-window mix on the same calibration
cases): the forecast has to beat both naive ones on both divergences, so that is what is optimised.
"""

from __future__ import annotations

import itertools

import numpy as np
from pydantic import BaseModel, Field

from evorec.tools.forecast.mix import js_divergence, kl_divergence

TEMPERATURES: tuple[float, ...] = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
UNIFORM_WEIGHTS: tuple[float, ...] = (0.0, 0.01, 0.03)
GRID_STEP = 0.05


class MixBlend(BaseModel):
    """A fitted linear pool of the head's forecast with the naive mixes (identity: head only, T = 1)."""

    temperature: float = 1.0
    w_head: float = 1.0
    w_recency: float = Field(0.0, description="Weight of the learned recency model's forecast (recency_mix).")
    w_all: float = 0.0
    w_last: float = 0.0
    w_uniform: float = 0.0
    n_cases: int = Field(0, description="Calibration cases the weights were chosen on.")
    objective: float | None = Field(None, description="Worst divergence ratio vs the naive mixes on calibration.")

    def apply(self, head: np.ndarray, all_time: np.ndarray, last_window: np.ndarray,
              recency: np.ndarray | None = None) -> np.ndarray:
        """Calibrated mixes ``[n, C]`` (rows sum to 1) from the head's probabilities, the two naive mixes and the
        recency model's forecast (needed when ``w_recency`` > 0)."""
        if self.w_recency > 0 and recency is None:
            raise ValueError("this calibration pools the recency model's forecast; pass it")
        return blend(sharpen(head, self.temperature), all_time, last_window, self.w_head, self.w_all, self.w_last,
                     self.w_uniform, recency=recency, w_recency=self.w_recency)


def sharpen(p: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log p / T)`` row-wise (``T`` > 1 flattens, < 1 sharpens)."""
    p = np.asarray(p, dtype=np.float64)
    if temperature == 1.0:
        return p
    logp = np.log(np.clip(p, 1e-12, None)) / temperature
    logp -= logp.max(axis=-1, keepdims=True)
    e = np.exp(logp)
    return e / e.sum(axis=-1, keepdims=True)


def blend(head: np.ndarray, all_time: np.ndarray, last_window: np.ndarray, w_head: float, w_all: float,
          w_last: float, w_uniform: float, *, recency: np.ndarray | None = None, w_recency: float = 0.0) -> np.ndarray:
    n_cat = head.shape[-1]
    q = w_head * head + w_all * all_time + w_last * last_window + w_uniform / max(n_cat, 1)
    if w_recency > 0 and recency is not None:
        q = q + w_recency * recency
    s = q.sum(axis=-1, keepdims=True)
    return np.divide(q, s, out=np.full_like(q, 1.0 / max(n_cat, 1)), where=s > 0)


def fit_mix_blend(head: np.ndarray, all_time: np.ndarray, last_window: np.ndarray, realised: np.ndarray,
                  step: float = GRID_STEP, recency: np.ndarray | None = None) -> MixBlend:
    """Grid-search the pool on calibration cases (rows with an empty realised mix are skipped). ``recency``: the
    recency model's forecast on the same cases, pooled as a fifth part (None: no such part)."""
    keep = np.asarray(realised).sum(axis=1) > 0
    if not keep.any():
        return MixBlend()
    head, all_time, last_window, realised = head[keep], all_time[keep], last_window[keep], realised[keep]
    rec = recency[keep] if recency is not None else None
    ref = {"kl_all": kl_divergence(realised, all_time).mean(), "js_all": js_divergence(realised, all_time).mean(),
           "kl_last": kl_divergence(realised, last_window).mean(),
           "js_last": js_divergence(realised, last_window).mean()}
    n = round(1 / step)
    best: tuple[float, float, MixBlend] | None = None
    for t_index, t in enumerate(TEMPERATURES):
        h = sharpen(head, t)
        for i, j, r in itertools.product(range(n + 1), range(n + 1), range(n + 1 if rec is not None else 1)):
            if i + j + r > n or (i + j + r == n and t_index > 0):  # no head part: the temperature is moot
                continue
            w_all, w_last, w_rec = round(i * step, 6), round(j * step, 6), round(r * step, 6)
            w_head = round(1.0 - w_all - w_last - w_rec, 6)
            for w_uni in UNIFORM_WEIGHTS:
                q = blend(h, all_time, last_window, w_head, w_all, w_last, w_uni, recency=rec, w_recency=w_rec)
                kl, js = kl_divergence(realised, q).mean(), js_divergence(realised, q).mean()
                ratios = [kl / max(ref["kl_all"], 1e-12), js / max(ref["js_all"], 1e-12),
                          kl / max(ref["kl_last"], 1e-12), js / max(ref["js_last"], 1e-12)]
                key = (max(ratios), sum(ratios))
                if best is None or key < best[:2]:
                    best = (*key, MixBlend(temperature=t, w_head=w_head, w_recency=w_rec, w_all=w_all,
                                           w_last=w_last, w_uniform=w_uni, n_cases=int(keep.sum()),
                                           objective=float(key[0])))
    assert best is not None
    return best[2]
