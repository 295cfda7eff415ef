"""The interest-evolution head: mix helpers by hand, and a tiny synthetic train that learns the planted drift."""

from __future__ import annotations

import numpy as np
import pytest

from evorec.tools.data.schema import Dataset
from evorec.tools.data.sequences import SequenceData
from evorec.tools.data.synthetic import PlantedDrift
from evorec.tools.forecast.calibration import MixBlend, fit_mix_blend, sharpen
from evorec.tools.forecast.evaluate import holdout_last_n, mix_split, run_mix_eval
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
                              epochs=40, patience=40, device="cpu", threads=1, calib_fraction=0.0)  # the head alone
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


def test_calibration_windows_are_held_out_of_training(synthetic_dataset: Dataset) -> None:
    data = SequenceData.from_dataset(synthetic_dataset)
    plain = mix_split(data, horizon=5)
    sp = mix_split(data, horizon=5, calib_fraction=0.5, seed=3)
    assert sp.user_ids == plain.user_ids and all(np.array_equal(a, b) for a, b in zip(sp.futures, plain.futures,
                                                                                      strict=True))
    assert len(sp.calib_histories) > 5 and not plain.calib_histories
    pos = data.user_position()
    trained = {tuple(h.items.tolist()) for h in sp.train.histories}
    for h, fut in zip(sp.calib_histories, sp.calib_futures, strict=True):
        assert len(fut) == 5
        # the training sequence of this user stops before the calibration window (and its last event validates)
        assert tuple(h.items[:-1].tolist()) in trained
        full = next(data.histories[pos[u]] for u in data.user_ids
                    if np.array_equal(data.histories[pos[u]].items[:len(h) + 5], np.concatenate([h.items, fut])))
        assert len(full) >= len(h) + 10  # the test window lies after the calibration window


def test_blend_is_chosen_on_calibration_cases_and_beats_each_part() -> None:
    rng = np.random.default_rng(0)
    n, c = 400, 6
    all_time = rng.dirichlet(np.ones(c) * 2, n)
    truth_drift = rng.dirichlet(np.ones(c) * 2, n)
    realised = 0.5 * all_time + 0.5 * truth_drift
    head = 0.9 * truth_drift + 0.1 * rng.dirichlet(np.ones(c) * 0.3, n)  # sharp, mostly right about the drift
    head = sharpen(head, 0.5)  # over-confident
    last = rng.dirichlet(np.ones(c), n)
    blend = fit_mix_blend(head, all_time, last, realised)
    q = blend.apply(head, all_time, last)
    np.testing.assert_allclose(q.sum(axis=1), 1.0)
    assert blend.temperature > 1.0 and 0.2 < blend.w_all < 0.8 and blend.n_cases == n
    for div in (kl_divergence, js_divergence):
        for part in (head, all_time, last):
            assert div(realised, q).mean() < div(realised, part).mean()
    assert MixBlend().apply(head, all_time, last) == pytest.approx(head)  # the identity pool is the head alone


def test_gated_mix_head_starts_as_an_even_mixture_and_trains() -> None:
    import torch

    from evorec.tools.models.forecaster import ForecasterConfig, ForecasterNet

    cat_mh = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    cfg = ForecasterConfig(hidden=8, blocks=1, heads=1, max_len=6, horizon=2, mix_head="gated", use_text=False)
    net = ForecasterNet(3, cfg, None, category_weights(cat_mh))
    items = torch.tensor([[1, 1, 1, 2]])
    hidden = torch.randn(1, 4, 8)
    q = torch.softmax(net.mix_logits(hidden, items), dim=-1)[0, -1].detach().numpy()
    recent, total, uniform = np.array([0.5, 0.5, 0]), np.array([0.75, 0.25, 0]), np.full(3, 1 / 3)
    np.testing.assert_allclose(q, (recent + total + uniform) / 3, atol=1e-4)
    loss = net.aux_loss(hidden, {"items": items, "mix": torch.tensor([[[0.0, 0.0, 1.0]] * 4]),
                                 "mix_w": torch.ones(1, 4)})
    assert loss is not None and torch.isfinite(loss)
    loss.backward()
    assert net.mix_gate.weight.grad is not None and float(net.mix_gate.weight.grad.abs().sum()) > 0
