"""Across-seed summaries and paired bootstrap intervals for comparing models on the same test cases."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel


class RatioInterval(BaseModel):
    """``mean(a) / mean(b)`` over the same cases, with a paired bootstrap percentile interval."""

    a: str
    b: str
    metric: str
    ratio: float
    lo: float
    hi: float
    n_cases: int
    n_boot: int

    @property
    def above_one(self) -> bool:
        return self.lo > 1.0


class DiffInterval(BaseModel):
    """``mean(a) - mean(b)`` over the same cases, with a paired bootstrap percentile interval."""

    a: str
    b: str
    metric: str
    diff: float
    lo: float
    hi: float
    n_cases: int
    n_boot: int


def mean_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    arr = np.asarray(values, dtype=np.float64)
    if not arr.size:
        return float("nan"), float("nan")
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0


def paired_bootstrap_ratio(a: np.ndarray, b: np.ndarray, *, n_boot: int = 2000, seed: int = 0,
                           level: float = 0.95, chunk: int = 100) -> tuple[float, float, float]:
    """Ratio of means ``mean(a) / mean(b)`` and its percentile interval from resampling cases (rows shared
    by ``a`` and ``b``, so the pairing is kept). Chunked so large test sets stay small in memory."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or not a.size:
        raise ValueError(f"paired samples must be equal-length, non-empty vectors, got {a.shape} and {b.shape}")
    point = float(a.mean() / b.mean()) if b.mean() > 0 else float("inf")
    rng = np.random.default_rng(seed)
    n = a.size
    ratios: list[np.ndarray] = []
    done = 0
    while done < n_boot:
        m = min(chunk, n_boot - done)
        idx = rng.integers(0, n, size=(m, n))
        sa, sb = a[idx].mean(axis=1), b[idx].mean(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios.append(np.where(sb > 0, sa / sb, np.inf))
        done += m
    r = np.concatenate(ratios)
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.percentile(r, [tail, 100 - tail])
    return point, float(lo), float(hi)


def ratio_interval(a_name: str, a: np.ndarray, b_name: str, b: np.ndarray, metric: str, *, n_boot: int = 2000,
                   seed: int = 0) -> RatioInterval:
    ratio, lo, hi = paired_bootstrap_ratio(a, b, n_boot=n_boot, seed=seed)
    return RatioInterval(a=a_name, b=b_name, metric=metric, ratio=ratio, lo=lo, hi=hi, n_cases=int(np.size(a)),
                         n_boot=n_boot)


def paired_bootstrap_diff(a: np.ndarray, b: np.ndarray, *, n_boot: int = 2000, seed: int = 0, level: float = 0.95,
                          chunk: int = 100) -> tuple[float, float, float]:
    """Difference of means ``mean(a) - mean(b)`` and its percentile interval from resampling cases (the same
    resampled rows for ``a`` and ``b``, so the pairing is kept)."""
    if np.shape(a) != np.shape(b) or np.ndim(a) != 1 or not np.size(a):
        raise ValueError(f"paired samples must be equal-length, non-empty vectors, got {np.shape(a)} and "
                         f"{np.shape(b)}")
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means: list[np.ndarray] = []
    done = 0
    while done < n_boot:
        m = min(chunk, n_boot - done)
        means.append(d[rng.integers(0, d.size, size=(m, d.size))].mean(axis=1))
        done += m
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.percentile(np.concatenate(means), [tail, 100 - tail])
    return float(d.mean()), float(lo), float(hi)


def diff_interval(a_name: str, a: np.ndarray, b_name: str, b: np.ndarray, metric: str, *, n_boot: int = 2000,
                  seed: int = 0) -> DiffInterval:
    diff, lo, hi = paired_bootstrap_diff(a, b, n_boot=n_boot, seed=seed)
    return DiffInterval(a=a_name, b=b_name, metric=metric, diff=diff, lo=lo, hi=hi, n_cases=int(np.size(a)),
                        n_boot=n_boot)
