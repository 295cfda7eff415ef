"""The learned recency model of the category mix: its features by hand, that it learns a pattern no single window
carries, its rolling cases, its place in the calibration pool and its round trip through a checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from evorec.tools.data.schema import Dataset
from evorec.tools.data.sequences import History, SequenceData
from evorec.tools.data.splits import leave_one_out
from evorec.tools.forecast.calibration import fit_mix_blend
from evorec.tools.forecast.mix import category_weights, js_divergence, kl_divergence, naive_mixes, window_mix
from evorec.tools.forecast.recency_mix import (
    HALF_LIVES,
    N_FEATURES,
    N_SHARES,
    WINDOWS,
    fit_recency_mix,
    history_features,
    rolling_cases,
)
from evorec.tools.models.forecaster import Forecaster

# item 1: category A, item 2: B, item 3: A and B, item 4: no category (padding row 0)
CAT_W = category_weights(np.array([[0, 0], [1, 0], [0, 1], [1, 1], [0, 0]], dtype=np.float32))


def hist(items: list[int]) -> History:
    return History(items=np.array(items, dtype=np.int64), times=np.arange(len(items), dtype=np.int64))


def test_features_by_hand() -> None:
    items = np.array([1, 1, 2, 3, 4, 2])
    f = history_features(items, CAT_W, [3, 6])
    assert f.shape == (2, 2, N_FEATURES)
    w3 = WINDOWS.index(3)
    # cut 3: events 1,1,2 -> A 2/3; cut 6: the last 3 events are 3 (A/2, B/2), 4 (no category), 2 -> A .25
    np.testing.assert_allclose(f[:, 0, w3], [2 / 3, 0.25], atol=1e-6)
    a_all = len(WINDOWS)
    np.testing.assert_allclose(f[1, :, a_all], [2.5 / 5, 2.5 / 5], atol=1e-6)  # all-time over 5 with a category
    np.testing.assert_allclose(f[1, :, :N_SHARES].sum(axis=0), np.ones(N_SHARES), atol=1e-5)  # shares sum to 1
    # an exponentially weighted share, by hand: weights 0.5 ** (age / half-life) over events with a category
    hl = HALF_LIVES[0]
    ages = np.array([5, 4, 3, 2, 0], dtype=float)  # the category-less event (age 1) does not count
    a_share = np.array([1, 1, 0, 0.5, 0]) @ (0.5 ** (ages / hl)) / (0.5 ** (ages / hl)).sum()
    assert f[1, 0, len(WINDOWS) + 1] == pytest.approx(a_share, abs=1e-6)
    np.testing.assert_allclose(f[..., N_SHARES:2 * N_SHARES], np.log(f[..., :N_SHARES] + 0.01), atol=1e-6)
    # the same features come out of one cut at a time
    np.testing.assert_allclose(history_features(items[:3], CAT_W, [3])[0], f[0], atol=1e-6)


def _alternating(rng: np.random.Generator, n_users: int) -> list[History]:
    """Blocks of 10 events of A, then 10 of B, then A ...; each user starts at a random phase. The next 10 events'
    mix is the mirror of the last 10's at a block boundary and a blend elsewhere: no single window persists."""
    out = []
    for _ in range(n_users):
        phase = int(rng.integers(0, 20))
        n = int(rng.integers(40, 70))
        out.append(hist([1 if ((t + phase) // 10) % 2 == 0 else 2 for t in range(n)]))
    return out


def test_it_learns_a_pattern_no_single_window_carries() -> None:
    rng = np.random.default_rng(0)
    train, test = _alternating(rng, 150), _alternating(rng, 100)
    state = fit_recency_mix(train, CAT_W, horizon=10, seed=0)
    assert state is not None and state.n_users == 150 and state.n_cases > 0
    past = [hist(h.items[:-10].tolist()) for h in test]
    realised = np.stack([window_mix(h.items[-10:], CAT_W) for h in test])
    q = state.forecast(past, CAT_W)
    np.testing.assert_allclose(q.sum(axis=1), 1.0)
    last, all_time = naive_mixes(past, CAT_W, 10)
    for div in (js_divergence, kl_divergence):
        ours = div(realised, q).mean()
        assert ours < 0.5 * div(realised, last).mean()
        assert ours < 0.5 * div(realised, all_time).mean()


def test_rolling_cases_weigh_users_equally_and_skip_category_less_windows() -> None:
    heavy, light = hist([1, 2] * 200), hist([2] * 20)
    x, y, n_users = rolling_cases([heavy, light], CAT_W, horizon=5, max_cases=100, seed=0)
    assert n_users == 2 and len(x) == len(y) == 100
    # the heavy user has 393 cuts, the light one 13: drawn per user, the light one's (all-time share of A 0) are
    # all 13 of them, not 13 / 406 of the draw
    assert (x[:, 0, len(WINDOWS)] == 0).sum() == 13
    np.testing.assert_allclose(y.sum(axis=1), 1.0)
    empty = hist([4] * 30)  # no event with a category: no case
    assert len(rolling_cases([empty], CAT_W, horizon=5)[0]) == 0
    assert fit_recency_mix([empty], CAT_W, horizon=5) is None


def test_calibration_pools_the_recency_forecast_where_it_helps() -> None:
    rng = np.random.default_rng(1)
    n, c = 300, 5
    realised = rng.dirichlet(np.ones(c), n)
    good = 0.8 * realised + 0.2 / c  # the recency model: close to what happened
    head, all_time, last = (rng.dirichlet(np.ones(c), n) for _ in range(3))
    with_recency = fit_mix_blend(head, all_time, last, realised, recency=good)
    assert with_recency.w_recency >= 0.8
    q = with_recency.apply(head, all_time, last, good)
    assert js_divergence(realised, q).mean() < min(js_divergence(realised, p).mean() for p in (head, all_time, last))
    without = fit_mix_blend(head, all_time, last, realised)
    assert without.w_recency == 0.0
    with pytest.raises(ValueError, match="recency"):
        with_recency.apply(head, all_time, last)


TINY = {"hidden": 16, "blocks": 1, "heads": 1, "max_len": 20, "batch_size": 32, "epochs": 1, "device": "cpu",
        "threads": 1, "patience": 1}


def test_forecaster_fits_keeps_and_restores_it(synthetic_dataset: Dataset, tmp_path: Path) -> None:
    data = SequenceData.from_dataset(synthetic_dataset)
    split = leave_one_out(data)
    m = Forecaster(**TINY)
    m.fit(split.train, split.valid, seed=0, progress=False)
    hs = split.test.histories[:20]
    assert m.recency is not None and m.recency.n_users > 0
    want = m.forecast_recency_mix(hs)
    assert want is not None and want.shape == (20, len(data.category_names))
    m.save(tmp_path / "m.pt")
    loaded = Forecaster.load(tmp_path / "m.pt")
    np.testing.assert_allclose(loaded.forecast_recency_mix(hs), want, atol=1e-9)
    off = Forecaster(**TINY, recency_mix=False)
    off.fit(split.train, split.valid, seed=0, progress=False)
    assert off.recency is None and off.forecast_recency_mix(hs) is None
    # a checkpoint from before the option: read as trained, without a recency model
    blob = torch.load(tmp_path / "m.pt", weights_only=False)
    del blob["config"]["recency_mix"], blob["recency_mix"]
    torch.save(blob, tmp_path / "old.pt")
    old = Forecaster.load(tmp_path / "old.pt")
    assert old.cfg.recency_mix is False and old.recency is None
