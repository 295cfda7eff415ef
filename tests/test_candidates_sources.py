"""Candidate sources: one interface, allowed items only, best first, and the pool remembers who proposed what."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_ranking_support import OfflineWorld, offline_world

from evorec.tools.candidates import SOURCE_NAMES, cold_start_sources, default_sources, gather
from evorec.tools.candidates.cooc import CoocSource
from evorec.tools.candidates.trending import TrendingSource


@pytest.fixture(scope="module")
def world(synthetic_dir: Path) -> OfflineWorld:
    return offline_world(synthetic_dir)


def test_each_source_proposes_allowed_items_best_first(world: OfflineWorld) -> None:
    sig = world.signals(world.data.user_ids[5])
    rng = np.random.default_rng(0)
    allowed = rng.random(world.index.n_items + 1) < 0.5
    allowed[0] = False
    for src in default_sources({"forecaster": 15, "cooc": 15, "trending": 15, "semantic": 15, "popular": 15}):
        prop = src.propose(world.index, sig, allowed)
        assert len(prop) <= 15, src.name
        assert allowed[prop].all(), src.name
        s = src.scores(world.index, sig)
        if s is None:  # trending proposes nothing when no category is rising for this user
            assert src.name == "trending" and len(prop) == 0
            continue
        assert np.all(np.diff(s[prop]) <= 1e-12), f"{src.name} not best first"
        assert len(prop) > 0, f"{src.name} proposed nothing"


def test_pool_remembers_every_proposing_source(world: OfflineWorld) -> None:
    sig = world.signals(world.data.user_ids[7])
    allowed = ~sig.seen
    sources = default_sources()
    pool = gather(sources, world.index, sig, allowed)
    assert len(set(pool.items.tolist())) == len(pool)
    for j, src in enumerate(sources):
        prop = set(src.propose(world.index, sig, allowed).tolist())
        members = {int(i) for i, m in zip(pool.items, pool.membership[:, j], strict=True) if m}
        assert members == prop, src.name
    assert pool.membership.any(axis=1).all()
    assert pool.source_names == SOURCE_NAMES


def test_cooc_neighbours_co_occur_with_recent_items(world: OfflineWorld) -> None:
    user = world.data.user_ids[2]
    sig = world.signals(user)
    prop = CoocSource(n=10).propose(world.index, sig, ~sig.seen)
    recent = sig.history.items[sig.anchors]
    counts = np.asarray(world.index.cooc[recent][:, prop].sum(axis=0)).ravel()
    assert (counts > 0).all()


def test_trending_items_are_rising_and_in_rising_categories(world: OfflineWorld) -> None:
    src = TrendingSource(n=20)
    proposed = 0
    for user in world.data.user_ids[:20]:
        sig = world.signals(user)
        sig.trend_up[:] = 0.0
        sig.trend_up[2] = 1.0  # as if the trend model labelled the third category rising
        rising = src.rising_categories(sig)
        assert rising[2]
        for i in src.propose(world.index, sig, ~sig.seen).tolist():
            assert world.index.cat_mh[i, rising].any()
            if world.index.catalog_score is not None:  # the TRENDS engine's rising items, with their evidence
                assert np.isfinite(world.index.catalog_score[i])
                assert world.index.vocab.item_ids[i] in world.index.catalog_evidence
            else:
                assert world.index.pop_trend()[i] > 0
            proposed += 1
    assert proposed > 0


def test_cold_start_uses_only_popularity_and_trends(world: OfflineWorld) -> None:
    sig = world.signals(None)
    assert sig.cold_start
    for src in default_sources():
        if src.name in {"forecaster", "cooc", "semantic"}:
            assert len(src.propose(world.index, sig, ~sig.seen)) == 0
    pool = gather(cold_start_sources(), world.index, sig, ~sig.seen)
    assert set(pool.source_names) == {"popular", "trending"} and len(pool) >= 50
