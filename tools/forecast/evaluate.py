"""Evaluation of the interest-evolution head: forecast category mix vs the realised next-window mix.

Protocol ("hold out the last N"): for every user with enough events, the last ``horizon``
events are the future; the model is trained on everything before (early stopping on the
event just before the future, which is then part of the history). For each user we compare
the realised mix of the future window with:
  * ``forecaster``   — the interest head's forecast,
  * ``last_window``  — "the last window persists": mix of the last ``horizon`` history events,
  * ``all_time``     — the user's all-time mix,
reporting mean KL(realised || prediction) and mean Jensen-Shannon divergence (lower is better).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from evorec.tools.data.sequences import History, SequenceData
from evorec.tools.forecast.mix import category_weights, js_divergence, kl_divergence, window_mix
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


def holdout_last_n(data: SequenceData, horizon: int, min_history: int = 5
                   ) -> tuple[SequenceData, ValidationSet, list[str], list[History], list[np.ndarray]]:
    """Split off each user's last ``horizon`` events.

    Returns (train view, validation set for early stopping, evaluated user ids, their histories,
    their future item arrays). Users with fewer than ``min_history + horizon`` events only train.
    """
    train, vh, vt, vu, uids, hists, futures = [], [], [], [], [], [], []
    for uid, h in zip(data.user_ids, data.histories, strict=True):
        n = len(h)
        if n >= min_history + horizon:
            past = History(h.items[: n - horizon], h.times[: n - horizon])
            fit_part = History(past.items[:-1], past.times[:-1])
            train.append(fit_part)
            vh.append(fit_part)
            vt.append(int(past.items[-1]))
            vu.append(uid)
            uids.append(uid)
            hists.append(past)
            futures.append(h.items[n - horizon:])
        else:
            train.append(h)
    return (data.with_histories(list(data.user_ids), train), ValidationSet(vh, np.asarray(vt, np.int64), vu),
            uids, hists, futures)


def evaluate_mix(histories: list[History], futures: list[np.ndarray], item_categories: np.ndarray,
                 horizon: int, predictions: dict[str, np.ndarray]) -> MixEvalReport:
    """Score given mix predictions (name -> [n, C]) plus the two baselines against realised futures."""
    cat_w = category_weights(item_categories)
    realised = np.stack([window_mix(f, cat_w) for f in futures]) if futures else np.zeros((0, cat_w.shape[1]))
    methods = dict(predictions)
    methods["last_window"] = np.stack([window_mix(h.items[-horizon:], cat_w) for h in histories])
    methods["all_time"] = np.stack([window_mix(h.items, cat_w) for h in histories])
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
                 model: Forecaster | None = None, **config: Any) -> tuple[MixEvalReport, Forecaster]:
    """Train a forecaster on the hold-out-last-N split (unless ``model`` is given, already trained on
    such a split) and evaluate its interest head. The EVALS runner calls this."""
    train, valid, _, hists, futures = holdout_last_n(data, horizon)
    if model is None:
        model = Forecaster(**{"horizon": horizon, **config})
        model.fit(train, valid if len(valid.histories) else None, seed=seed, progress=progress)
    forecast = model.forecast_mix(hists)
    return evaluate_mix(hists, futures, data.item_categories, horizon, {"forecaster": forecast}), model
