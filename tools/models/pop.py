"""Most-popular baseline, and the small numpy helpers the other baselines share.

``Pop`` scores every item by its number of training events; the same for every user.
The RANKING engineer uses it as a candidate source through :meth:`Pop.top`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from evorec.tools.data.sequences import History, SequenceData
from evorec.tools.models import register
from evorec.tools.models.base import FitReport, Recommender, ValidationSet


def event_counts(histories: list[History], n_items: int) -> np.ndarray:
    """Training events per item index, float64 ``[n_items + 1]`` (index 0 stays 0)."""
    counts = np.zeros(n_items + 1, dtype=np.float64)
    if histories:
        np.add.at(counts, np.concatenate([h.items for h in histories]), 1.0)
    counts[0] = 0.0
    return counts


def item_user_counts(histories: list[History], n_items: int) -> np.ndarray:
    """Number of distinct users per item index ``[n_items + 1]`` (int64)."""
    counts = np.zeros(n_items + 1, dtype=np.int64)
    for h in histories:
        counts[np.unique(np.asarray(h.items, dtype=np.int64))] += 1
    return counts


def tie_breaker(counts: np.ndarray) -> np.ndarray:
    """Popularity scaled into [0, 1e-6]: added to sparse scores so items with equal (often zero) evidence
    are ordered by popularity instead of tying (the 'popularity back-off')."""
    top = counts.max() if counts.size else 0.0
    return (counts / top * 1e-6) if top > 0 else np.zeros_like(counts)


def validation_ndcg10(scores: np.ndarray, valid: ValidationSet) -> float:
    """Mean NDCG@10 on a validation set, with the evaluation harness's conventions: full catalog,
    seen items masked (never the target), pessimistic ties. Used to tune baseline hyper-parameters."""
    if not len(valid.targets):
        return 0.0
    s = np.array(scores, dtype=np.float64, copy=True)
    rows = np.arange(len(valid.targets))
    tgt_score = s[rows, valid.targets].copy()
    s[:, 0] = -np.inf
    for i, h in enumerate(valid.histories):
        s[i, h.items] = -np.inf
    s[rows, valid.targets] = tgt_score
    rank = (s >= tgt_score[:, None]).sum(axis=1)
    return float(np.where(rank <= 10, 1.0 / np.log2(rank + 1.0), 0.0).mean())


# validation histories scored per full_sort_predict call while tuning: a dense [users, catalog] matrix never exists
VALID_BATCH = 512


def batched_validation_ndcg10(predict: Callable[[list[History]], np.ndarray], valid: ValidationSet,
                              batch_size: int | None = None) -> float:
    """:func:`validation_ndcg10` of ``predict``'s scores, ``batch_size`` histories at a time, so peak memory is
    ``batch_size x catalog`` whatever the number of validation users (Amazon Sports: 35k users x 18k items
    would be 2.6 GB as float32, 5 GB more for the float64 copy)."""
    n = len(valid.targets)
    if not n:
        return 0.0
    step = batch_size or VALID_BATCH
    total = 0.0
    for lo in range(0, n, step):
        chunk = ValidationSet(histories=valid.histories[lo:lo + step], targets=valid.targets[lo:lo + step])
        total += validation_ndcg10(predict(chunk.histories), chunk) * len(chunk.targets)
    return total / n


def timed_report(name: str, start: float, history: list[dict[str, float]] | None = None,
                 best: float | None = None) -> FitReport:
    secs = time.perf_counter() - start
    return FitReport(model=name, epochs_run=1, best_epoch=1, best_valid_ndcg10=best, train_seconds=secs,
                     seconds_to_best=secs, history=history or [])


@register
class Pop(Recommender):
    """Most popular items (training event counts)."""

    name = "pop"

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        if config:
            raise ValueError(f"pop takes no config, got {sorted(config)}")
        self.counts: np.ndarray | None = None

    def fit(self, train: SequenceData, valid: ValidationSet | None = None, *, seed: int = 0,
            progress: bool = True) -> FitReport:
        start = time.perf_counter()
        self.counts = event_counts(train.histories, train.n_items)
        best = None
        if valid is not None and len(valid.targets):
            best = batched_validation_ndcg10(self.full_sort_predict, valid)
        return timed_report(self.name, start, best=best)

    def _require(self) -> np.ndarray:
        if self.counts is None:
            raise RuntimeError("pop is not fitted")
        return self.counts

    def popularity(self) -> np.ndarray:
        """Training event count per item index ``[n_items + 1]``."""
        return self._require().copy()

    def top(self, n: int, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` most popular item indices (ties by lower index) and their counts, skipping ``exclude``."""
        counts = self._require().copy()
        counts[0] = -np.inf
        if exclude is not None and len(exclude):
            counts[np.asarray(exclude, dtype=np.int64)] = -np.inf
        order = np.argsort(-counts, kind="stable")[:n]
        order = order[np.isfinite(counts[order])]
        return order.astype(np.int64), counts[order]

    def full_sort_predict(self, histories: list[History]) -> np.ndarray:
        counts = self._require().astype(np.float32)
        return np.broadcast_to(counts, (len(histories), counts.shape[0])).copy()
