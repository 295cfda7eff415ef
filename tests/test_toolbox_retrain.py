"""Retraining learns from the store: events added at run time (Toolbox.add_events, i.e. POST /v1/events) and
users forgotten since ingest reach the trained artifacts, which still load and match; the admin job's path
(delta file + ``evorec train --delta``) composes the same data; the API's warm start."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from evorec.errors import ArtifactError
from evorec.settings import Settings
from evorec.tools.constraints import Constraints
from evorec.tools.data.loader import load_dataset
from evorec.tools.data.schema import Dataset
from evorec.tools.forecast.artifacts import artifacts_path, load_artifacts, read_manifest
from evorec.tools.forecast.service import ForecastService
from evorec.tools.forecast.training_data import (
    DELTA_FILE,
    DataDelta,
    compose,
    delta_from_store,
    read_delta,
    served_dataset,
    store_delta,
)
from evorec.tools.ranking.training import read_fusion_manifest
from evorec.tools.store.history import HistoryStore
from evorec.tools.toolbox import Toolbox
from evorec.tools.training import PrepareOptions, prepare

TINY = {"hidden": 16, "blocks": 1, "heads": 1}
NEW_USER = "added-at-run-time"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, synthetic_dir: Path) -> Iterator[tuple[Settings, Dataset, dict]]:
    """An ingested store, events added for a known user and a brand-new user, one user forgotten, then
    ``prepare`` (what `evorec train` runs) on top."""
    torch.set_num_threads(1)
    settings = Settings(home=tmp_path_factory.mktemp("retrain") / "home", chroma_mode="embedded", llm="none",
                        threads=1, device="cpu")
    ds = load_dataset("synthetic", path=synthetic_dir, settings=settings)
    HistoryStore.open(settings, ds.name).ingest(ds, progress=False)
    retrain = PrepareOptions(dataset="synthetic", path=synthetic_dir, ingest=False, epochs=2, config=TINY)
    prepare(settings, retrain)
    tb = Toolbox.open(settings, data=ds)
    users = sorted(ds.interactions["user_id"].unique())
    known, forgotten = users[0], users[1]
    ts = int(ds.interactions["ts"].max()) + 3600
    items = ds.items["item_id"].tolist()
    added = [{"user_id": known, "item_id": items[k], "timestamp": ts + 60 * k, "rating": 4} for k in range(3)]
    added += [{"user_id": NEW_USER, "item_id": items[10 + k], "timestamp": ts + 60 * k} for k in range(4)]
    assert tb.add_events(added).events_written == 7
    n_forgotten = tb.delete_user(forgotten).events_deleted
    assert n_forgotten > 0
    report = prepare(settings, retrain)
    facts = {"known": known, "forgotten": forgotten, "n_forgotten": n_forgotten, "report": report,
             "known_before": len(ds.user_events(known))}
    yield settings, ds, facts


def test_training_sees_added_events_and_forgotten_users(env: tuple[Settings, Dataset, dict]) -> None:
    settings, ds, f = env
    rep = f["report"]
    assert rep.added_events == 7 and rep.removed_events == f["n_forgotten"]
    assert rep.events == len(ds.interactions) + 7 - f["n_forgotten"]
    man = read_manifest(settings, ds.name)
    assert man.base_fingerprint == ds.fingerprint() != man.fingerprint
    assert (man.added_events, man.removed_events) == (7, f["n_forgotten"])
    assert man.n_events == rep.events  # the forecaster's training sequences hold exactly the composed events
    assert NEW_USER in set(served_dataset(settings, ds).interactions["user_id"])
    trained = served_dataset(settings, ds)
    assert trained.fingerprint() == man.fingerprint
    assert len(trained.user_events(f["known"])) == f["known_before"] + 3
    assert f["forgotten"] not in set(trained.interactions["user_id"])
    assert man.n_users == trained.n_users
    fusion = read_fusion_manifest(settings, ds.name)
    assert fusion is not None and fusion.fingerprint == man.fingerprint  # fusion refitted on the same data


def test_artifacts_match_only_the_composed_data(env: tuple[Settings, Dataset, dict]) -> None:
    settings, ds, _ = env
    with pytest.raises(ArtifactError, match="plus 7 events added"):
        load_artifacts(settings, ds)  # the files alone are not what it was trained on: a clear refusal
    svc = ForecastService.load(settings, served_dataset(settings, ds))
    fc = svc.forecast(NEW_USER, svc.history_from_events(
        served_dataset(settings, ds).user_events(NEW_USER)["item_id"].tolist(),
        served_dataset(settings, ds).user_events(NEW_USER)["ts"].tolist()))
    assert not fc.cold_start and fc.n_events == 4


def test_toolbox_reopens_on_the_retrained_artifacts(env: tuple[Settings, Dataset, dict]) -> None:
    settings, ds, _ = env
    tb = Toolbox.open(settings, "synthetic")  # by name: the store's manifest names the ingested files
    try:
        health = tb.health()
        assert health["forecaster"]["loaded"] and health["fusion"]["fitted"], health
        assert health["forecaster"]["added_events"] == 7
        assert tb.data.fingerprint() == read_manifest(settings, ds.name).fingerprint
        r = tb.rank_candidates(NEW_USER, Constraints(k=5))
        assert not r.cold_start and len(r.items) == 5
    finally:
        tb.close()


def test_admin_retrain_job_trains_on_the_added_events(env: tuple[Settings, Dataset, dict], tmp_path: Path) -> None:
    """POST /v1/admin/retrain's job: the serving process writes the store's delta, the job process trains from it
    (never opening the embedded store), and serving reloads on artifacts that include the added events."""
    from evorec.serving.api.engines import Engines
    from evorec.serving.api.jobs import RetrainJobs
    from evorec.serving.api.protocol import RetrainRequest

    settings, ds, f = env
    delta = delta_from_store(settings, ds, HistoryStore.open(settings, ds.name))
    path = tmp_path / "job.delta.json"
    path.write_text(delta.model_dump_json())
    assert compose(ds, read_delta(path)).fingerprint() == read_manifest(settings, ds.name).fingerprint
    services = Engines(settings.with_overrides(dataset="synthetic"), warm_store=False)
    try:
        old = services.toolbox
        jobs = RetrainJobs(services.settings, services)
        job = jobs.start(RetrainRequest(epochs=2, seed=1))
        assert "--delta" in job.command
        deadline = time.monotonic() + 600
        while (job := jobs.get(job.job_id)).state not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.5)
        assert job.state == "succeeded" and job.reloaded, job.log_tail
        assert any("7 events added" in line for line in job.log_tail), job.log_tail
        man = read_manifest(settings, ds.name)
        assert (man.added_events, man.removed_events) == (7, f["n_forgotten"])
        assert (artifacts_path(settings, ds.name) / DELTA_FILE).is_file()
        assert services.toolbox is not old and services.toolbox.health()["forecaster"]["added_events"] == 7
        assert not list((settings.home / "jobs" / "inputs").glob("*.json"))  # the job's input is cleaned up
    finally:
        services.close()


def test_warm_start_loads_every_event(env: tuple[Settings, Dataset, dict]) -> None:
    from evorec.serving.api.engines import Engines

    settings, _, f = env
    services = Engines(settings)
    try:
        assert services.warm_up() and services.opened
        tb = services.toolbox
        assert tb.get_user_history(NEW_USER, limit=None).total_events == 4
        assert not tb.known_user(f["forgotten"])
    finally:
        services.close()


def _frame(rows: list[tuple[str, str, int, float, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["user_id", "item_id", "ts", "rating", "row"])


def test_store_delta_and_compose_on_a_hand_made_case() -> None:
    from evorec.tools.store.history import event_ids

    items = pd.DataFrame({"item_id": ["a", "b", "c"], "title": ["A", "B", "C"], "categories": [["X"], ["Y"], ["X"]],
                          "description": ["", "", ""], "image_path": ["", "", ""], "year": [2000, None, 2001]})
    base = Dataset("toy", _frame([("u1", "a", 10, 4.0, 0), ("u1", "b", 20, 3.0, 1), ("u2", "a", 15, np.nan, 2),
                                  ("u1", "a", 10, 5.0, 3)]), items)
    ints = base.interactions
    store = ints.assign(event_id=event_ids(ints["user_id"].tolist(), ints["item_id"].tolist(), ints["ts"].tolist()))
    store = store[store["user_id"] != "u2"]  # u2 forgotten
    extra = _frame([("u3", "c", 30, np.nan, 10**15 + 1), ("u1", "zzz", 40, 1.0, 10**15 + 2)])
    extra["event_id"] = ["u3|c|30", "u1|zzz|40"]
    delta = store_delta(base, pd.concat([store, extra], ignore_index=True))
    assert delta.removed_rows == [2] and delta.n_added == 1 and delta.skipped_unknown_items == 1
    assert delta.added.rating == [None]
    out = compose(base, DataDelta.model_validate_json(delta.model_dump_json()))
    assert sorted(out.interactions["user_id"]) == ["u1", "u1", "u1", "u3"]
    assert out.fingerprint() == compose(base, delta).fingerprint() != base.fingerprint()
    assert compose(base, DataDelta.none(base)) is base
    other = Dataset("toy", _frame([("u9", "a", 1, 1.0, 0)]), items.copy())
    with pytest.raises(ArtifactError, match="other 'toy' data"):
        compose(other, delta)


def test_forgetting_erases_the_trained_delta_and_retrain_leaves_the_user_out(
        env: tuple[Settings, Dataset, dict], synthetic_dir: Path) -> None:
    """Runs last (it forgets ``known``): the saved delta drops the user at once and the models still load; a
    retrain, and a re-ingest before it, leave the user out."""
    settings, ds, f = env
    user = f["known"]
    delta_path = artifacts_path(settings, ds.name) / DELTA_FILE
    assert user in delta_path.read_text()  # the 3 events added for the user were trained on
    tb = Toolbox.open(settings, data=ds)
    try:
        report = tb.delete_user(user)
    finally:
        tb.close()
    assert report.tombstone and report.removed["training_delta_events"] == 3
    assert report.removed["training_delta_dataset_rows"] == f["known_before"]
    assert user not in delta_path.read_text()
    served = served_dataset(settings, ds)
    assert user not in set(served.interactions["user_id"])
    assert served.fingerprint() == read_manifest(settings, ds.name).fingerprint  # the artifacts still load
    tb = Toolbox.open(settings, data=ds)
    try:
        assert tb.health()["forecaster"]["loaded"] and not tb.known_user(user)
    finally:
        tb.close()
    assert HistoryStore.open(settings, ds.name).ingest(ds, progress=False).events_forgotten >= f["known_before"]
    rep = prepare(settings, PrepareOptions(dataset="synthetic", path=synthetic_dir, ingest=True, epochs=1,
                                           config=TINY))
    trained = served_dataset(settings, ds)
    assert rep.events == len(trained.interactions) and user not in set(trained.interactions["user_id"])
    assert f["forgotten"] not in set(trained.interactions["user_id"])
    assert user not in delta_path.read_text()
