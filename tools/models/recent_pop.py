"""Recently-popular baseline: exponentially time-decayed popularity, as of the moment of each request.

For a history whose last event is at time ``t`` (the request time), item ``i`` scores
``sum over training events e of i with time_bucket(e) <= time_bucket(t) of 2 ** (-(t - t_e) / half_life)``,
computed on a grid of time buckets (one day, or coarser for very long spans). Only training
events up to the request are counted, so the score never looks at the future. The half-life is
picked on the validation set (NDCG@10) from a grid unless given.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from evorec.tools.data.sequences import History, SequenceData
from evorec.tools.models import register
from evorec.tools.models.base import FitReport, Recommender, ValidationSet
from evorec.tools.models.pop import batched_validation_ndcg10, timed_report

DAY = 86_400
HALF_LIFE_GRID_DAYS: tuple[float, ...] = (1, 3, 7, 14, 30, 60, 120, 240, 480, math.inf)


class RecentPopConfig(BaseModel):
    half_life_days: float | None = Field(None, gt=0, description="Fixed half-life; None = tune on validation.")
    grid_days: list[float] = Field(default_factory=lambda: list(HALF_LIFE_GRID_DAYS))
    max_buckets: int = Field(4000, ge=10, description="Coarsest time grid: span / max_buckets, at least a day.")


def by_request_time(valid: ValidationSet) -> ValidationSet:
    """The validation cases ordered by their request time: each scoring batch then spans few time buckets (the
    decayed counts are rebuilt once per distinct bucket in a batch), and the mean NDCG does not depend on order."""
    last = np.array([int(h.times[-1]) if len(h) else -1 for h in valid.histories], dtype=np.int64)
    order = np.argsort(last, kind="stable")
    return ValidationSet(histories=[valid.histories[i] for i in order], targets=np.asarray(valid.targets)[order],
                         user_ids=[valid.user_ids[i] for i in order] if valid.user_ids else [])


@register
class RecentPop(Recommender):
    name = "recent_pop"

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.cfg = RecentPopConfig(**config)
        self.half_life_days: float = self.cfg.half_life_days or math.inf
        self._n_items = 0
        self._t0 = 0
        self._bucket_s = DAY
        self._ev_bucket = np.zeros(0, dtype=np.int64)  # sorted
        self._ev_item = np.zeros(0, dtype=np.int64)
        self._end_bucket = 0

    def _bucket(self, t: np.ndarray | int) -> np.ndarray:
        return (np.asarray(t, dtype=np.int64) - self._t0) // self._bucket_s

    def fit(self, train: SequenceData, valid: ValidationSet | None = None, *, seed: int = 0,
            progress: bool = True) -> FitReport:
        start = time.perf_counter()
        self._n_items = train.n_items
        items = np.concatenate([h.items for h in train.histories]) if train.histories else np.zeros(0, np.int64)
        times = np.concatenate([h.times for h in train.histories]) if train.histories else np.zeros(0, np.int64)
        self._t0 = int(times.min()) if times.size else 0
        span = int(times.max()) - self._t0 if times.size else 0
        self._bucket_s = max(DAY, math.ceil(span / self.cfg.max_buckets))
        b = self._bucket(times)
        order = np.argsort(b, kind="stable")
        self._ev_bucket, self._ev_item = b[order], items[order].astype(np.int64)
        self._end_bucket = int(b.max()) if b.size else 0
        history: list[dict[str, float]] = []
        best: float | None = None
        if valid is not None and len(valid.targets):
            valid = by_request_time(valid)
        if self.cfg.half_life_days is None and valid is not None and len(valid.targets):
            best_hl = math.inf
            for hl in self.cfg.grid_days:
                self.half_life_days = hl
                ndcg = batched_validation_ndcg10(self.full_sort_predict, valid)
                # -1 stands for "no decay" (JSON has no infinity)
                history.append({"half_life_days": hl if math.isfinite(hl) else -1.0, "valid_ndcg10": ndcg})
                if best is None or ndcg > best:
                    best, best_hl = ndcg, hl
            self.half_life_days = best_hl
        elif valid is not None and len(valid.targets):
            best = batched_validation_ndcg10(self.full_sort_predict, valid)
        return timed_report(self.name, start, history, best)

    def _decayed_at(self, query_buckets: np.ndarray, out: np.ndarray) -> None:
        """``out[r] = log(decayed counts at query_buckets[r])``, in one pass over the time-sorted events; only the
        running state and ``out`` are held (no copy per distinct query bucket)."""
        lam = 0.0 if math.isinf(self.half_life_days) else math.log(2) * self._bucket_s / (self.half_life_days * DAY)
        state = np.zeros(self._n_items + 1, dtype=np.float64)
        cur, pos = None, 0
        for q in np.unique(query_buckets):
            q = int(q)
            # events of buckets (prev, q], each decayed from its own bucket to q
            hi = int(np.searchsorted(self._ev_bucket, q, side="right"))
            if cur is not None and lam > 0:
                state *= math.exp(-lam * (q - cur))
            if hi > pos:
                w = np.exp(-lam * (q - self._ev_bucket[pos:hi])) if lam > 0 else np.ones(hi - pos)
                np.add.at(state, self._ev_item[pos:hi], w)
                pos = hi
            cur = q
            out[query_buckets == q] = np.log(state + 1e-300)

    def full_sort_predict(self, histories: list[History]) -> np.ndarray:
        if not self._n_items:
            raise RuntimeError("recent_pop is not fitted")
        qb = np.array([int(self._bucket(h.times[-1])) if len(h) else self._end_bucket for h in histories],
                      dtype=np.int64)
        scores = np.empty((len(histories), self._n_items + 1), dtype=np.float32)
        if len(histories):
            self._decayed_at(qb, scores)
        return scores
