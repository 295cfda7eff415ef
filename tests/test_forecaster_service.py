"""Forecaster artifacts and ForecastService: train for serving, load in one call, refuse other data, cold start."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from evorec.errors import ArtifactError, InvalidRequestError
from evorec.settings import Settings
from evorec.tools.data.loader import load_dataset
from evorec.tools.data.schema import Dataset
from evorec.tools.data.sequences import SequenceData
from evorec.tools.forecast.artifacts import artifacts_path, load_artifacts, read_manifest, train_artifacts
from evorec.tools.forecast.result import MIX_EVIDENCE_ID
from evorec.tools.forecast.service import ForecastService

TINY = {"hidden": 16, "blocks": 1, "heads": 1, "max_len": 30, "batch_size": 32, "patience": 2, "threads": 1}


@pytest.fixture(scope="module")
def trained(synthetic_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Dataset, Settings]:
    settings = Settings(home=tmp_path_factory.mktemp("fc") / "home", llm="none", threads=1)
    ds = load_dataset("synthetic", path=synthetic_dir)
    train_artifacts(ds, settings, epochs=2, device="cpu", progress=False, config=TINY)
    return ds, settings


def test_artifacts_written_with_manifest(trained: tuple[Dataset, Settings]) -> None:
    ds, settings = trained
    d = artifacts_path(settings, ds.name)
    assert {"manifest.json", "model.pt", "items.json", "popularity.npy"} <= {p.name for p in d.iterdir()}
    man = read_manifest(settings, ds.name)
    assert man.fingerprint == ds.fingerprint() and man.dataset == "synthetic"
    assert man.n_items == ds.n_items and man.categories == ds.categories and man.text_embeddings
    assert man.fit.epochs_run >= 1 and man.horizon == 10


def test_service_forecast_and_batch_consistency(trained: tuple[Dataset, Settings]) -> None:
    ds, settings = trained
    svc = ForecastService.load(settings, ds)
    data = SequenceData.from_dataset(ds)
    uids, hists = data.user_ids[:6], data.histories[:6]
    many = svc.forecast_many(uids, hists, k=5)
    one = svc.forecast(uids[2], hists[2], k=5)
    assert one.model_dump(exclude={"timings_ms"}) == many[2].model_dump(exclude={"timings_ms"})
    assert not one.cold_start and one.n_events == len(hists[2]) and len(one.top_items) == 5
    assert sum(one.forecast_mix.values()) == pytest.approx(1.0, abs=0.02)
    assert sum(one.current_mix.values()) == pytest.approx(1.0, abs=0.01)
    seen = set(data.vocab.decode(hists[2].items))
    assert not seen & {it.item_id for it in one.top_items}  # seen items excluded by default
    ev = one.evidence_by_id()[MIX_EVIDENCE_ID]
    top = one.shifts[0]
    assert ev.numbers[f"current:{top.category}"] == top.current
    assert ev.numbers[f"forecast:{top.category}"] == top.forecast
    assert MIX_EVIDENCE_ID in one.summary() and top.category in one.summary()
    scores = svc.score(hists)
    assert scores.shape == (6, ds.n_items + 1)
    # the current history is what counts: appending events changes the answer without retraining
    h = hists[0]
    more = svc.history_from_events(data.vocab.decode(np.concatenate([h.items, hists[1].items[-5:]])),
                                   np.concatenate([h.times, h.times[-1] + np.arange(1, 6) * 3600]).tolist())
    assert svc.forecast(uids[0], more).forecast_mix != svc.forecast(uids[0], h).forecast_mix


def test_served_mix_is_the_calibration_chosen_on_held_out_windows(trained: tuple[Dataset, Settings]) -> None:
    """Training for serving holds a quarter of the long users' last window out, calibrates the head's mix there,
    and the service forecasts with that pool: the head alone is still there, and the two differ."""
    from evorec.tools.forecast.artifacts import CALIB_FRACTION, serving_split
    from evorec.tools.forecast.mix import category_weights, naive_mixes

    ds, settings = trained
    man = read_manifest(settings, ds.name)
    blend = man.mix_calibration
    assert blend is not None and blend.n_cases > 0 and man.calib_fraction == CALIB_FRACTION
    data = SequenceData.from_dataset(ds)
    split = serving_split(data, man.horizon, man.calib_fraction, man.split_seed)
    assert len(split.calib_histories) == blend.n_cases  # every calibration window had a realised mix
    art = load_artifacts(settings, ds)
    assert art.model.mix_blend == blend  # kept in the checkpoint
    hists = data.histories[:8]
    head = art.model.forecast_mix(hists, calibrated=False)
    last, all_time = naive_mixes(hists, category_weights(data.item_categories), man.horizon)
    recency = art.model.forecast_recency_mix(hists)
    assert recency is not None and art.model.recency is not None  # fitted at training, kept in the checkpoint
    want = blend.apply(head, all_time, last, recency)
    _, served = art.model.predict(hists)
    np.testing.assert_allclose(served, want, atol=1e-9)
    fc = ForecastService(art).forecast(data.user_ids[0], hists[0])
    got = np.array([fc.forecast_mix.get(c, 0.0) for c in man.categories])
    np.testing.assert_allclose(got, want[0], atol=6e-4)  # the service rounds to 4 places
    if blend.w_head < 1.0 or blend.temperature != 1.0:
        assert not np.allclose(head, want)
    if blend.w_recency > 0:
        with pytest.raises(ValueError, match="recency"):
            blend.apply(head, all_time, last)


def test_one_user_forecast_is_fast(trained: tuple[Dataset, Settings]) -> None:
    ds, settings = trained
    svc = ForecastService.load(settings, ds.name)
    data = SequenceData.from_dataset(ds)
    svc.forecast(data.user_ids[0], data.histories[0])
    t = time.perf_counter()
    for uid, h in zip(data.user_ids[:20], data.histories[:20], strict=True):
        svc.forecast(uid, h)
    per_user_ms = 1000 * (time.perf_counter() - t) / 20
    assert per_user_ms < 250  # a few ms uncontended; generous for a shared 2-core machine


def test_cold_start_and_unknown_items(trained: tuple[Dataset, Settings]) -> None:
    ds, settings = trained
    svc = ForecastService.load(settings, ds)
    cold = svc.forecast("no-such-user", None, k=3)
    assert cold.cold_start and cold.n_events == 0 and len(cold.top_items) == 3
    assert cold.evidence[0].id == MIX_EVIDENCE_ID and cold.evidence[0].kind == "cold_start"
    assert cold.forecast_mix == cold.current_mix and "no history yet" in cold.summary()
    assert svc.history_from_events(["not-an-item"], [5]).items.size == 0
    assert svc.forecast("x", svc.history_from_events(["not-an-item"], [5])).cold_start
    with pytest.raises(InvalidRequestError):
        svc.forecast("x", None, k=0)


def test_refuses_other_data_and_missing_artifacts(trained: tuple[Dataset, Settings]) -> None:
    ds, settings = trained
    other = Dataset(ds.name, ds.interactions.iloc[:-5].copy(), ds.items.copy(), list(ds.categories))
    with pytest.raises(ArtifactError, match="trained on other data"):
        ForecastService.load(settings, other)
    with pytest.raises(ArtifactError, match="trained on other data"):
        load_artifacts(settings, ds.name, fingerprint="0123456789abcdef")
    with pytest.raises(ArtifactError, match="evorec train --dataset ml-100k"):
        ForecastService.load(settings, "ml-100k")
    (artifacts_path(settings, ds.name) / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="unreadable"):
        ForecastService.load(settings, ds.name)


def test_serving_split_holds_out_calibration_windows_deterministically(synthetic_dataset: Dataset) -> None:
    from evorec.tools.forecast.artifacts import serving_split

    data = SequenceData.from_dataset(synthetic_dataset)
    plain = serving_split(data)
    assert not plain.calib_histories and len(plain.valid.histories) == len(data.user_ids)
    a = serving_split(data, horizon=10, calib_fraction=0.25, seed=3)
    b = serving_split(data, horizon=10, calib_fraction=0.25, seed=3)
    assert [h.items.tolist() for h in a.calib_histories] == [h.items.tolist() for h in b.calib_histories]
    long_users = sum(len(h) >= 15 for h in data.histories)
    assert len(a.calib_histories) == round(0.25 * long_users) > 0
    pos = data.user_position()
    calib_users = set(a.valid.user_ids) - {u for u, h in zip(data.user_ids, data.histories, strict=True)
                                           if len(a.train.histories[pos[u]]) == len(h) - 1}
    assert len(calib_users) == len(a.calib_histories)
    for uid in calib_users:
        full, seen = data.histories[pos[uid]], a.train.histories[pos[uid]]
        assert len(seen) == len(full) - 11  # the window and the validation target are not trained on
        assert np.array_equal(seen.items, full.items[: len(seen)])


def test_an_ids_only_catalog_holds_no_window_out(synthetic_dataset: Dataset, tmp_path: Path) -> None:
    """No categories, no mix to calibrate: every user's events train the model (beside a catalog with categories)."""
    inter = synthetic_dataset.interactions
    users = sorted(inter["user_id"].unique())[:40]
    d = tmp_path / "ids-only"
    d.mkdir()
    inter[inter["user_id"].isin(users)][["user_id", "item_id", "ts"]].rename(columns={"ts": "timestamp"}) \
        .to_csv(d / "interactions.csv", index=False)
    ds = load_dataset("csv", path=d)
    assert ds.categories == []
    settings = Settings(home=tmp_path / "home", llm="none", threads=1)
    man = train_artifacts(ds, settings, epochs=1, device="cpu", progress=False, config=TINY, use_embedder=False)
    assert man.calib_fraction == 0.0 and man.mix_calibration is None
    assert man.fit.epochs_run == 1
