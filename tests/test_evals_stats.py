"""Across-seed summaries and the paired bootstrap interval for model-vs-model ratios."""

from __future__ import annotations

import numpy as np
import pytest

from evorec.evals.stats import diff_interval, mean_sd, paired_bootstrap_diff, paired_bootstrap_ratio, ratio_interval


def test_mean_sd() -> None:
    assert mean_sd([0.1, 0.2, 0.3]) == pytest.approx((0.2, 0.1))
    assert mean_sd([0.5]) == (0.5, 0.0)


def test_bootstrap_interval_covers_the_ratio_and_separates_a_real_gap() -> None:
    rng = np.random.default_rng(0)
    b = rng.random(2000)
    a = 1.3 * b + rng.normal(0, 0.05, 2000).clip(-0.2, 0.2)
    ratio, lo, hi = paired_bootstrap_ratio(a, b, n_boot=500, seed=1)
    assert lo < ratio < hi
    assert ratio == pytest.approx(a.mean() / b.mean())
    assert lo > 1.2 and hi < 1.4  # paired: the shared case-to-case variation cancels, the interval is tight
    iv = ratio_interval("x", a, "y", b, "NDCG@10", n_boot=500)
    assert iv.above_one and iv.n_cases == 2000


def test_bootstrap_interval_spans_one_when_models_are_the_same() -> None:
    rng = np.random.default_rng(3)
    b = rng.random(500)
    a = rng.permutation(b)  # same distribution, no real difference: the interval must include 1
    _, lo, hi = paired_bootstrap_ratio(a, b, n_boot=1000, seed=0)
    assert lo < 1.0 < hi


def test_pairing_matters() -> None:
    """Same per-case differences, but when they are paired the interval is much narrower than unpaired noise."""
    rng = np.random.default_rng(5)
    base = rng.exponential(1.0, 1000)
    a = base * 1.05
    _, lo, hi = paired_bootstrap_ratio(a, base, n_boot=300, seed=0)
    assert hi - lo < 1e-6 and lo == pytest.approx(1.05)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="equal-length"):
        paired_bootstrap_ratio(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="non-empty"):
        paired_bootstrap_ratio(np.ones(0), np.ones(0))


def test_difference_interval_is_paired_and_covers_the_mean_difference() -> None:
    rng = np.random.default_rng(7)
    base = rng.exponential(1.0, 1000)
    diff, lo, hi = paired_bootstrap_diff(base - 0.1, base, n_boot=300, seed=0)
    assert diff == pytest.approx(-0.1) and hi - lo < 1e-9  # a constant per-case gap: no spread when paired
    a = base + rng.normal(-0.05, 0.2, 1000)
    diff, lo, hi = paired_bootstrap_diff(a, base, n_boot=1000, seed=0)
    assert lo < diff < hi < 0 and diff == pytest.approx((a - base).mean())
    iv = diff_interval("x", a, "y", base, "JS", n_boot=200)
    assert iv.hi < 0 and iv.n_cases == 1000 and iv.metric == "JS"
    same = rng.permutation(base)
    _, lo, hi = paired_bootstrap_diff(same, base, n_boot=1000, seed=0)
    assert lo < 0 < hi
    with pytest.raises(ValueError, match="equal-length"):
        paired_bootstrap_diff(np.ones(3), np.ones(4))
