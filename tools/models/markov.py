"""First-order Markov baseline: the last item predicts the next, backed off to popularity.

``P(j | i) = (T[i, j] + alpha * p(j)) / (T[i, :].sum() + alpha)`` with ``T`` the training
transition counts (consecutive events of a user) and ``p`` the item popularity distribution:
an item never seen after ``i`` still ranks by popularity, and an unseen last item gives pure
popularity. ``alpha`` is picked on the validation set (NDCG@10) unless given.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, Field

from evorec.tools.data.sequences import History, SequenceData
from evorec.tools.models import register
from evorec.tools.models.base import FitReport, Recommender, ValidationSet
from evorec.tools.models.pop import batched_validation_ndcg10, event_counts, timed_report


class MarkovConfig(BaseModel):
    alpha: float | None = Field(None, gt=0, description="Popularity back-off strength; None = tune.")
    grid_alpha: list[float] = Field(default_factory=lambda: [0.01, 0.1, 1.0, 10.0, 100.0])


def transition_counts(histories: list[History], n_items: int) -> sp.csr_matrix:
    size = n_items + 1
    src = [np.asarray(h.items[:-1], dtype=np.int64) for h in histories if len(h) > 1]
    dst = [np.asarray(h.items[1:], dtype=np.int64) for h in histories if len(h) > 1]
    if not src:
        return sp.csr_matrix((size, size), dtype=np.float64)
    m = sp.coo_matrix((np.ones(sum(len(s) for s in src)), (np.concatenate(src), np.concatenate(dst))),
                      shape=(size, size)).tocsr()
    m.sum_duplicates()
    return m


@register
class Markov(Recommender):
    name = "markov"

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.cfg = MarkovConfig(**config)
        self.alpha = self.cfg.alpha or 1.0
        self.trans: sp.csr_matrix | None = None
        self._out = np.zeros(0)
        self._pop = np.zeros(0)

    def fit(self, train: SequenceData, valid: ValidationSet | None = None, *, seed: int = 0,
            progress: bool = True) -> FitReport:
        start = time.perf_counter()
        self.trans = transition_counts(train.histories, train.n_items)
        self._out = np.asarray(self.trans.sum(axis=1)).ravel()
        counts = event_counts(train.histories, train.n_items)
        total = counts.sum()
        self._pop = counts / total if total > 0 else np.full(len(counts), 1.0 / max(len(counts) - 1, 1))
        self._pop[0] = 0.0
        history: list[dict[str, float]] = []
        best: float | None = None
        if valid is not None and len(valid.targets):
            grid = [self.cfg.alpha] if self.cfg.alpha is not None else self.cfg.grid_alpha
            best_alpha = grid[0]
            for a in grid:
                self.alpha = a
                ndcg = batched_validation_ndcg10(self.full_sort_predict, valid)
                history.append({"alpha": a, "valid_ndcg10": ndcg})
                if best is None or ndcg > best:
                    best, best_alpha = ndcg, a
            self.alpha = best_alpha
        return timed_report(self.name, start, history, best)

    def _require(self) -> sp.csr_matrix:
        if self.trans is None:
            raise RuntimeError("markov is not fitted")
        return self.trans

    def next_probs(self, last_items: np.ndarray) -> np.ndarray:
        """``P(next | last)`` rows ``[len(last_items), n_items + 1]``; index 0 (no last item) gives popularity."""
        trans = self._require()
        last = np.asarray(last_items, dtype=np.int64)
        counts = np.asarray(trans[last].todense(), dtype=np.float64)
        counts[last == 0] = 0.0
        denom = np.where(last == 0, 0.0, self._out[last]) + self.alpha
        return (counts + self.alpha * self._pop[None, :]) / denom[:, None]

    def full_sort_predict(self, histories: list[History]) -> np.ndarray:
        last = np.array([int(h.items[-1]) if len(h) else 0 for h in histories], dtype=np.int64)
        return self.next_probs(last).astype(np.float32)
