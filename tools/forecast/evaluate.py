"""Evaluation of the interest-evolution head: forecast category mix vs the realised next-window mix.

Protocol ("hold out the last N"): for every user with enough events, the last ``horizon``
events are the future; the model is trained on everything before (early stopping on the
event just before the future, which is then part of the history). For each user we compare
the realised mix of the future window with:
  * ``forecaster``   — the interest head's forecast,
  * ``last_window``  — "the last window persists": mix of the last ``horizon`` history events,
  * ``all_time``     — the user's all-time mix,
reporting mean KL(realised || prediction) and mean Jensen-Shannon divergence (lower is better).

Calibration (``calib_fraction`` > 0, the default in ``run_mix_eval``): a seeded random share of the users with
enough events also hold their PREVIOUS ``horizon`` events out of training; their (history, previous window) pairs
are out-of-sample calibration cases on which ``tools.forecast.calibration`` picks how the head's forecast is
pooled with the naive mixes. The test windows are never looked at to choose anything. ``forecaster`` is then the
calibrated forecast, ``forecaster_head`` the head alone and ``forecaster_recency`` the learned recency model
alone (``tools.forecast.recency_mix``, when the forecaster has one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from evorec.tools.data.sequences import History, SequenceData
from evorec.tools.forecast.calibration import MixBlend
from evorec.tools.forecast.mix import category_weights, js_divergence, kl_divergence, naive_mixes, window_mix
from evorec.tools.models.base import ValidationSet
from evorec.tools.models.forecaster import Forecaster


class MixScores(BaseModel):
    kl: float
    js: float


class MixEvalReport(BaseModel):
    horizon: int
    n_users: int
    methods: dict[str, MixScores] = Field(description="Mean divergences per method; lower is better.")
    per_user: dict[str, dict[str, list[float]]] = Field(
        default_factory=dict, exclude=True, description="metric ('kl' | 'js') -> method -> per-user divergence.")
    blend: MixBlend | None = Field(None, description="The calibration chosen on held-out windows (None: head only).")

    @property
    def per_user_js(self) -> dict[str, list[float]]:
        return self.per_user.get("js", {})

    def ratio(self, method: str = "forecaster", baseline: str = "last_window", metric: str = "js") -> float:
        """``method``'s divergence relative to ``baseline``'s (< 1: the method is better)."""
        a = getattr(self.methods[method], metric)
        b = getattr(self.methods[baseline], metric)
        return a / b if b > 0 else float("inf")

    def table(self) -> str:
        rows = ["| method | mean KL | mean JS |", "|---|---|---|"]
        for name, s in self.methods.items():
            rows.append(f"| {name} | {s.kl:.4f} | {s.js:.4f} |")
        return "\n".join(rows)


@dataclass
class MixSplit:
    """Training view, early-stopping set, test cases and (optionally) out-of-sample calibration cases."""

    train: SequenceData
    valid: ValidationSet
    user_ids: list[str]
    histories: list[History]
    futures: list[np.ndarray]
    calib_histories: list[History] = field(default_factory=list)
    calib_futures: list[np.ndarray] = field(default_factory=list)


def mix_split(data: SequenceData, horizon: int, min_history: int = 5, calib_fraction: float = 0.0,
              seed: int = 0) -> MixSplit:
    """Each eligible user's last ``horizon`` events are the test future; ``calib_fraction`` of the users with
    ``min_history + 2 * horizon`` events also hold out the ``horizon`` events before those (calibration future)."""
    rng = np.random.default_rng(seed)
    long_users = [u for u, h in zip(data.user_ids, data.histories, strict=True) if len(h) >= min_history + 2 * horizon]
    n_calib = round(calib_fraction * len(long_users))
    calib = set(rng.permutation(np.asarray(long_users, dtype=object))[:n_calib].tolist()) if n_calib else set()
    train, vh, vt, vu, uids, hists, futures, ch, cf = [], [], [], [], [], [], [], [], []
    for uid, h in zip(data.user_ids, data.histories, strict=True):
        n = len(h)
        if n < min_history + horizon:
            train.append(h)
            continue
        past = History(h.items[: n - horizon], h.times[: n - horizon])
        seen = past
        if uid in calib:
            seen = History(h.items[: n - 2 * horizon], h.times[: n - 2 * horizon])
            ch.append(seen)
            cf.append(h.items[n - 2 * horizon: n - horizon])
        fit_part = History(seen.items[:-1], seen.times[:-1])
        train.append(fit_part)
        vh.append(fit_part)
        vt.append(int(seen.items[-1]))
        vu.append(uid)
        uids.append(uid)
        hists.append(past)
        futures.append(h.items[n - horizon:])
    return MixSplit(data.with_histories(list(data.user_ids), train), ValidationSet(vh, np.asarray(vt, np.int64), vu),
                    uids, hists, futures, ch, cf)


def holdout_last_n(data: SequenceData, horizon: int, min_history: int = 5
                   ) -> tuple[SequenceData, ValidationSet, list[str], list[History], list[np.ndarray]]:
    """Split off each user's last ``horizon`` events (no calibration users).

    Returns (train view, validation set for early stopping, evaluated user ids, their histories,
    their future item arrays). Users with fewer than ``min_history + horizon`` events only train.
    """
    sp = mix_split(data, horizon, min_history)
    return sp.train, sp.valid, sp.user_ids, sp.histories, sp.futures


def evaluate_mix(histories: list[History], futures: list[np.ndarray], item_categories: np.ndarray,
                 horizon: int, predictions: dict[str, np.ndarray]) -> MixEvalReport:
    """Score given mix predictions (name -> [n, C]) plus the two baselines against realised futures."""
    cat_w = category_weights(item_categories)
    realised = np.stack([window_mix(f, cat_w) for f in futures]) if futures else np.zeros((0, cat_w.shape[1]))
    methods = dict(predictions)
    methods["last_window"], methods["all_time"] = naive_mixes(histories, cat_w, horizon)
    keep = realised.sum(axis=1) > 0
    out: dict[str, MixScores] = {}
    per_user: dict[str, dict[str, list[float]]] = {"kl": {}, "js": {}}
    for name, pred in methods.items():
        kl = kl_divergence(realised[keep], pred[keep])
        js = js_divergence(realised[keep], pred[keep])
        out[name] = MixScores(kl=float(kl.mean()), js=float(js.mean()))
        per_user["kl"][name] = kl.tolist()
        per_user["js"][name] = js.tolist()
    return MixEvalReport(horizon=horizon, n_users=int(keep.sum()), methods=out, per_user=per_user)


def run_mix_eval(data: SequenceData, *, horizon: int = 10, seed: int = 0, progress: bool = True,
                 model: Forecaster | None = None, calib_fraction: float = 0.25,
                 **config: Any) -> tuple[MixEvalReport, Forecaster]:
    """Train a forecaster on the hold-out-last-N split (unless ``model`` is given, already trained on
    such a split), calibrate its interest head on the calibration users' held-out windows (``calib_fraction``
    0: the head alone) and evaluate it. The EVALS runner calls this."""
    sp = mix_split(data, horizon, calib_fraction=calib_fraction if model is None else 0.0, seed=seed)
    if model is None:
        model = Forecaster(**{"horizon": horizon, **config})
        model.fit(sp.train, sp.valid if len(sp.valid.histories) else None, seed=seed, progress=progress)
    head = model.forecast_mix(sp.histories, calibrated=False)
    if not sp.calib_histories:
        return evaluate_mix(sp.histories, sp.futures, data.item_categories, horizon, {"forecaster": head}), model
    blend = model.calibrate_mix(sp.calib_histories, sp.calib_futures)  # what serving applies too
    parts = {"forecaster": model.forecast_mix(sp.histories), "forecaster_head": head}
    recency = model.forecast_recency_mix(sp.histories)
    if recency is not None:
        parts["forecaster_recency"] = recency
    report = evaluate_mix(sp.histories, sp.futures, data.item_categories, horizon, parts)
    report.blend = blend
    return report, model
