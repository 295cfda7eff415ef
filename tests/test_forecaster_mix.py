"""The interest-evolution head: mix helpers by hand, and a tiny synthetic train that learns the planted drift."""

from __future__ import annotations

import numpy as np
import pytest

from evorec.tools.data.schema import Dataset
from evorec.tools.data.sequences import SequenceData
from evorec.tools.data.synthetic import PlantedDrift
from evorec.tools.forecast.evaluate import holdout_last_n, run_mix_eval
from evorec.tools.forecast.mix import category_weights, future_mix_targets, js_divergence, kl_divergence, window_mix


def test_mix_helpers_by_hand() -> None:
    mh = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 0, 1]], dtype=np.float32)  # row 0 = padding
    w = category_weights(mh)
    np.testing.assert_allclose(w[2], [0.5, 0.5, 0])
    np.testing.assert_allclose(window_mix(np.array([1, 2]), w), [0.75, 0.25, 0])
    mix, weight = future_mix_targets(np.array([1, 2, 3, 3]), w, horizon=2)
    # position 0 -> events 1,2 (items 2,3); position 1 -> items 3,3; position 2 -> item 3 only (half a horizon)
    np.testing.assert_allclose(mix, [[0.25, 0.25, 0.5], [0, 0, 1], [0, 0, 1]])
    np.testing.assert_allclose(weight, [1, 1, 0.5])
    p, q = np.array([[0.5, 0.5, 0.0]]), np.array([[0.5, 0.25, 0.25]])
    assert kl_divergence(p, p)[0] == pytest.approx(0, abs=1e-9)
    assert kl_divergence(p, q)[0] == pytest.approx(0.5 * np.log(2), abs=1e-4)
    assert 0 < js_divergence(p, q)[0] < np.log(2)


def test_holdout_last_n_keeps_the_future_out_of_training(synthetic_dataset: Dataset) -> None:
    data = SequenceData.from_dataset(synthetic_dataset)
    train, valid, uids, hists, futures = holdout_last_n(data, horizon=10)
    pos = data.user_position()
    for uid, h, fut in zip(uids, hists, futures, strict=True):
        full = data.histories[pos[uid]]
        assert len(fut) == 10 and np.array_equal(np.concatenate([h.items, fut]), full.items)
        assert len(train.histories[pos[uid]]) == len(h) - 1  # the validation target is not trained on
    assert len(valid.histories) == len(uids) > 0


def test_tiny_train_learns_the_planted_drift(synthetic_dataset: Dataset, synthetic_truth: list[PlantedDrift]) -> None:
    data = SequenceData.from_dataset(synthetic_dataset)
    rep, model = run_mix_eval(data, horizon=10, progress=False, hidden=32, blocks=1, max_len=50, batch_size=16,
                              epochs=40, patience=40, device="cpu", threads=1)
    m = rep.methods
    # KL(realised || forecast): the head's training objective, the proper score for a forecast distribution
    assert m["forecaster"].kl < m["last_window"].kl
    assert m["forecaster"].kl < m["all_time"].kl
    assert m["forecaster"].js < m["all_time"].js
    # the drift direction: where a planted change lies inside the observed history, the forecast share of
    # the rising category exceeds its all-time share for most such users
    _, _, uids, hists, _ = holdout_last_n(data, horizon=10)
    forecast = model.forecast_mix(hists)
    cats = data.category_names
    w = category_weights(data.item_categories)
    truth = {d.user_id: d for d in synthetic_truth}
    wins, total = 0, 0
    for i, (uid, h) in enumerate(zip(uids, hists, strict=True)):
        d = truth[uid]
        if d.kind in {"sudden_switch", "emerging"} and d.change_ts is not None and d.change_ts < h.times[-1] - 1:
            j = cats.index(d.to_category)
            total += 1
            wins += forecast[i, j] > window_mix(h.items, w)[j]
    assert total >= 5 and wins / total >= 0.7
