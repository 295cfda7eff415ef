"""Item-item co-occurrence neighbours over sequences (ItemKNN).

Two items co-occur when one user interacted with both within ``window`` positions of each
other, weighted ``1 / distance ** position_decay`` (``window=0``: anywhere in the history, counted
once per user).
Similarity is cosine-normalised with shrinkage: ``c_ij / (sqrt(n_i * n_j) + shrink)``, each row
pruned to its ``k`` strongest neighbours. A user is scored from the last ``n_last`` items of the
history, the most recent weighted most (``recency ** age``), plus a popularity back-off that only
orders items with equal neighbour evidence. With no config given, ``window``/``n_last``/``recency``
are picked on the validation set (NDCG@10) from a small grid.

The RANKING engineer uses :meth:`ItemKNN.neighbours` and :meth:`ItemKNN.score_items` as a candidate source.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, Field

from evorec.tools.data.sequences import History, SequenceData
from evorec.tools.models import register
from evorec.tools.models.base import FitReport, Recommender, ValidationSet
from evorec.tools.models.pop import (
    batched_validation_ndcg10,
    event_counts,
    item_user_counts,
    tie_breaker,
    timed_report,
)


class ItemKNNConfig(BaseModel):
    window: int | None = Field(None, ge=0, description="Co-occurrence window in positions (0 = whole history).")
    n_last: int | None = Field(None, ge=1, description="How many of the latest history items vote.")
    recency: float | None = Field(None, gt=0, le=1, description="Vote weight multiplier per step back in time.")
    position_decay: float = Field(0.0, ge=0, description="Pair weight 1/distance**position_decay.")
    shrink: float = Field(10.0, ge=0)
    k: int = Field(200, ge=1, description="Neighbours kept per item.")
    grid_window: list[int] = Field(default_factory=lambda: [0, 20, 5])
    grid_n_last: list[int] = Field(default_factory=lambda: [1, 5, 20, 50])
    grid_recency: list[float] = Field(default_factory=lambda: [0.8, 1.0])


def user_item_matrix(histories: list[History], n_items: int, dtype: type = np.float64) -> sp.csr_matrix:
    """Binary ``[users, n_items + 1]``: which items each history holds."""
    sets = [np.unique(np.asarray(h.items, dtype=np.int64)) for h in histories]
    nnz = sum(len(s) for s in sets)
    rows = np.repeat(np.arange(len(sets)), [len(s) for s in sets]) if nnz else np.zeros(0, np.int64)
    cols = np.concatenate(sets) if nnz else np.zeros(0, np.int64)
    return sp.csr_matrix((np.ones(nnz, dtype), (rows, cols)), shape=(len(sets), n_items + 1))


def users_who_have_both(x: sp.csr_matrix) -> sp.csr_matrix:
    """``X^T X`` of a binary user-item matrix, zero diagonal: how many users hold both items of each pair."""
    if not x.nnz:
        return sp.csr_matrix((x.shape[1], x.shape[1]), dtype=x.dtype)
    m = (x.T @ x).tocsr()
    m.setdiag(0.0)
    m.eliminate_zeros()
    return m


def cooccurrence(histories: list[History], n_items: int, window: int, position_decay: float = 0.0) -> sp.csr_matrix:
    """Symmetric sparse co-occurrence counts ``[n_items + 1, n_items + 1]`` (zero diagonal).

    ``window=0`` counts users who interacted with both items (``X^T X`` of the binary user-item matrix).
    """
    size = n_items + 1
    if window == 0:
        return users_who_have_both(user_item_matrix(histories, n_items))
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    for h in histories:
        items = np.asarray(h.items, dtype=np.int64)
        n = len(items)
        max_d = min(window, n - 1)
        for d in range(1, max_d + 1):
            a, b = items[:-d], items[d:]
            w = np.full(len(a), 1.0 / d**position_decay if position_decay else 1.0)
            rows += [a, b]
            cols += [b, a]
            vals += [w, w]
    if not rows:
        return sp.csr_matrix((size, size), dtype=np.float64)
    m = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size))
    m = m.tocsr()
    m.sum_duplicates()
    m.setdiag(0.0)
    m.eliminate_zeros()
    return m


def prune_rows(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep each row's ``k`` largest entries."""
    m = m.tocsr()
    indptr, data = m.indptr, m.data
    keep = np.zeros(len(data), dtype=bool)
    for r in range(m.shape[0]):
        lo, hi = indptr[r], indptr[r + 1]
        if hi - lo <= k:
            keep[lo:hi] = True
        else:
            top = np.argpartition(-data[lo:hi], k - 1)[:k]
            keep[lo + top] = True
    coo = m.tocoo()
    return sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=m.shape)


@register
class ItemKNN(Recommender):
    name = "itemknn"

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.cfg = ItemKNNConfig(**config)
        self.window = self.cfg.window if self.cfg.window is not None else 0
        self.n_last = self.cfg.n_last or 5
        self.recency = self.cfg.recency or 1.0
        self.sim: sp.csr_matrix | None = None
        self._backoff = np.zeros(0)
        self._n_items = 0

    def _similarity(self, histories: list[History], n_items: int, window: int) -> sp.csr_matrix:
        c = cooccurrence(histories, n_items, window, self.cfg.position_decay)
        n = item_user_counts(histories, n_items).astype(np.float64)  # the cosine norm of binary user-item vectors
        c = c.tocoo()
        denom = np.sqrt(n[c.row] * n[c.col]) + self.cfg.shrink
        s = sp.csr_matrix((c.data / denom, (c.row, c.col)), shape=c.shape)
        return prune_rows(s, self.cfg.k)

    def fit(self, train: SequenceData, valid: ValidationSet | None = None, *, seed: int = 0,
            progress: bool = True) -> FitReport:
        start = time.perf_counter()
        self._n_items = train.n_items
        self._backoff = tie_breaker(event_counts(train.histories, train.n_items))
        windows = [self.cfg.window] if self.cfg.window is not None else self.cfg.grid_window
        n_lasts = [self.cfg.n_last] if self.cfg.n_last is not None else self.cfg.grid_n_last
        recencies = [self.cfg.recency] if self.cfg.recency is not None else self.cfg.grid_recency
        has_valid = valid is not None and len(valid.targets) > 0
        if not has_valid:
            windows, n_lasts, recencies = windows[:1], n_lasts[:1], recencies[:1]
        history: list[dict[str, float]] = []
        best: tuple[float, int, int, float, sp.csr_matrix] | None = None
        for w in windows:
            self.sim = self._similarity(train.histories, train.n_items, w)
            for n_last, rec in itertools.product(n_lasts, recencies):
                self.window, self.n_last, self.recency = w, n_last, rec
                if not has_valid:
                    break
                assert valid is not None
                ndcg = batched_validation_ndcg10(self.full_sort_predict, valid)
                history.append({"window": w, "n_last": n_last, "recency": rec, "valid_ndcg10": ndcg})
                if best is None or ndcg > best[0]:
                    best = (ndcg, w, n_last, rec, self.sim)
        if best is not None:
            _, self.window, self.n_last, self.recency, self.sim = best
        return timed_report(self.name, start, history, best[0] if best else None)

    def _require(self) -> sp.csr_matrix:
        if self.sim is None:
            raise RuntimeError("itemknn is not fitted")
        return self.sim

    def _votes(self, histories: list[History]) -> sp.csr_matrix:
        """Sparse ``[len(histories), n_items + 1]`` recency weights of each history's last ``n_last`` items."""
        rows, cols, vals = [], [], []
        for r, h in enumerate(histories):
            last = np.asarray(h.items[-self.n_last:], dtype=np.int64)
            ages = np.arange(len(last) - 1, -1, -1)
            rows.append(np.full(len(last), r))
            cols.append(last)
            vals.append(self.recency ** ages)
        size = self._n_items + 1
        if not rows:
            return sp.csr_matrix((len(histories), size))
        return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(len(histories), size))

    def score_items(self, item_indices: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Summed neighbour scores ``[n_items + 1]`` of a set of (weighted) seed items; no back-off."""
        sim = self._require()
        idx = np.asarray(item_indices, dtype=np.int64)
        w = np.ones(len(idx)) if weights is None else np.asarray(weights, dtype=np.float64)
        v = sp.csr_matrix((w, (np.zeros(len(idx), dtype=np.int64), idx)), shape=(1, sim.shape[0]))
        return np.asarray((v @ sim).todense()).ravel()

    def neighbours(self, item_indices: np.ndarray | list[int], n: int = 20) -> tuple[np.ndarray, np.ndarray]:
        """For each given item, its ``n`` most similar items: (indices ``[len, n]``, similarities ``[len, n]``).

        Rows with fewer than ``n`` neighbours are padded with index 0 and similarity 0.
        """
        sim = self._require()
        idx = np.asarray(item_indices, dtype=np.int64)
        out_i = np.zeros((len(idx), n), dtype=np.int64)
        out_s = np.zeros((len(idx), n), dtype=np.float64)
        for r, item in enumerate(idx):
            lo, hi = sim.indptr[item], sim.indptr[item + 1]
            cols, vals = sim.indices[lo:hi], sim.data[lo:hi]
            order = np.lexsort((cols, -vals))[:n]
            out_i[r, : len(order)] = cols[order]
            out_s[r, : len(order)] = vals[order]
        return out_i, out_s

    def full_sort_predict(self, histories: list[History]) -> np.ndarray:
        sim = self._require()
        scores = np.asarray((self._votes(histories) @ sim).todense(), dtype=np.float64)
        scores += self._backoff[None, :]
        return scores.astype(np.float32)
