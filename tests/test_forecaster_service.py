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
