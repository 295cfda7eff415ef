"""The synthetic generator: deterministic, and the planted drift is really in the events."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from evorec.tools.data.loader import load_dataset
from evorec.tools.data.schema import Dataset
from evorec.tools.data.synthetic import (
    CATEGORIES,
    EVENTS_MAX,
    EVENTS_MIN,
    MIN_AFTER,
    MIN_BEFORE,
    PlantedDrift,
    generate_synthetic,
    load_truth,
)

SMALL = {"n_users": 40, "n_items": 120}


def _digest(directory: Path) -> str:
    h = hashlib.sha256()
    for name in ("interactions.csv", "items.csv", "drifts.json"):
        h.update((directory / name).read_bytes())
    return h.hexdigest()


def test_same_seed_same_files_other_seed_differs(tmp_path: Path) -> None:
    a = generate_synthetic(tmp_path / "a", seed=3, **SMALL)
    b = generate_synthetic(tmp_path / "b", seed=3, **SMALL)
    c = generate_synthetic(tmp_path / "c", seed=4, **SMALL)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def _share(ds: Dataset, user: str, category: str, before: int | None = None, after: int | None = None) -> float:
    ev = ds.user_events(user)
    if before is not None:
        ev = ev[ev["ts"] < before]
    if after is not None:
        ev = ev[ev["ts"] >= after]
    cats = dict(zip(ds.items["item_id"], ds.items["categories"], strict=True))
    return float(np.mean([category in cats[i] for i in ev["item_id"]]))


def test_planted_drift_is_in_the_events(synthetic_dataset: Dataset, synthetic_truth: list[PlantedDrift]) -> None:
    ds = synthetic_dataset
    kinds = {d.kind for d in synthetic_truth}
    assert kinds == {"sudden_switch", "slow_drift", "emerging", "fading", "stable"}
    assert {d.user_id for d in synthetic_truth} == set(ds.interactions["user_id"])
    for d in synthetic_truth:
        ev = ds.user_events(d.user_id)
        assert len(ev) == d.n_events
        if d.kind == "stable":
            assert d.change_ts is None and d.mix_before == d.mix_after
            continue
        assert d.change_ts is not None
        n_before = int((ev["ts"] < d.change_ts).sum())
        assert n_before == d.n_before >= MIN_BEFORE
        assert len(ev) - n_before == d.n_after >= MIN_AFTER
        # a category planted absent is absent, secondary categories included
        if d.kind == "sudden_switch":
            assert _share(ds, d.user_id, d.from_category, before=d.change_ts) > 0.6
            assert _share(ds, d.user_id, d.from_category, after=d.change_ts) == 0.0
            assert _share(ds, d.user_id, d.to_category, before=d.change_ts) == 0.0
            assert _share(ds, d.user_id, d.to_category, after=d.change_ts) > 0.6
        elif d.kind == "emerging":
            assert _share(ds, d.user_id, d.to_category, before=d.change_ts) == 0.0
            assert _share(ds, d.user_id, d.to_category, after=d.change_ts) > 0.4
        elif d.kind == "fading":
            assert _share(ds, d.user_id, d.from_category, before=d.change_ts) > 0.4
            assert _share(ds, d.user_id, d.from_category, after=d.change_ts) == 0.0
        elif d.kind == "slow_drift":
            assert d.end_ts is not None and d.end_ts > d.change_ts
            assert _share(ds, d.user_id, d.to_category, before=d.change_ts) == 0.0
            assert _share(ds, d.user_id, d.from_category, before=d.change_ts) > 0.6
            assert _share(ds, d.user_id, d.to_category, after=d.end_ts) > 0.4


def test_stable_users_are_stable_in_every_stretch(tmp_path: Path) -> None:
    """Categories are dealt, not drawn independently: every third of a stable user's events shows the planted
    mix within a few events. (Without secondary categories, so an event's category is its item's only one;
    independent draws put some category 0.2-0.28 off in some third on these seeds, dealing at most 0.1.)"""
    d = generate_synthetic(tmp_path / "s", seed=2, n_users=60, n_items=150, secondary_share=0.0)
    ds = load_dataset("synthetic", path=d)
    cats = dict(zip(ds.items["item_id"], ds.items["categories"], strict=True))
    stable = [t for t in load_truth(d).drifts if t.kind == "stable"]
    assert len(stable) >= 5
    for t in stable:
        items = ds.user_events(t.user_id)["item_id"].tolist()
        for part in np.array_split(np.arange(len(items)), 3):
            for category, planted in t.mix_before.items():
                share = np.mean([cats[items[i]] == [category] for i in part])
                assert abs(share - planted) <= 0.12, (t.user_id, category, planted, share)


def test_catalog_and_trends(synthetic_dir: Path, synthetic_dataset: Dataset) -> None:
    truth = load_truth(synthetic_dir)
    ds = synthetic_dataset
    assert ds.categories == CATEGORIES == truth.categories
    assert ds.items["title"].is_unique
    assert ds.items["year"].notna().all()
    assert all(len(c) >= 1 for c in ds.items["categories"])
    assert truth.item_trends.rising and truth.item_trends.new_releases
    # a new release is never consumed before it exists
    first_seen = ds.interactions.groupby("item_id")["ts"].min()
    for iid in truth.item_trends.new_releases:
        year = int(ds.items.set_index("item_id").loc[iid, "year"])
        if iid in first_seen.index:
            assert int(np.datetime64(int(first_seen[iid]), "s").astype("datetime64[Y]").astype(int) + 1970) >= year


def test_default_loader_generates_under_home(tmp_settings) -> None:
    s = tmp_settings.with_overrides(synthetic_seed=5)
    ds = load_dataset("synthetic", settings=s)
    assert (s.data_dir / "synthetic" / "drifts.json").is_file()
    assert ds.n_users == 400 and ds.n_items == 800
    assert EVENTS_MIN <= len(ds.interactions) / ds.n_users <= EVENTS_MAX
