"""Every hard constraint holds exactly, on randomised requests (property-based)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ranking_support import OfflineWorld, offline_world

from evorec.errors import InvalidRequestError
from evorec.tools.constraints import Constraints
from evorec.tools.ranking.ranker import allowed_mask


@pytest.fixture(scope="module")
def world(synthetic_dir: Path) -> OfflineWorld:
    return offline_world(synthetic_dir)


@st.composite
def requests(draw: st.DrawFn, world: OfflineWorld) -> tuple[str | None, Constraints]:
    cats = world.index.category_names
    users = world.data.user_ids
    user = draw(st.one_of(st.none(), st.sampled_from(users)))
    inc = draw(st.lists(st.sampled_from(cats), max_size=3, unique=True))
    exc = draw(st.lists(st.sampled_from([c for c in cats if c not in inc]), max_size=3, unique=True))
    years = [int(y) for y in world.index.years if y >= 0]
    lo, hi = min(years), max(years)
    y1 = draw(st.one_of(st.none(), st.integers(lo - 2, hi + 2)))
    y2 = draw(st.one_of(st.none(), st.integers(y1 if y1 is not None else lo - 2, hi + 2)))
    block = draw(st.lists(st.sampled_from(world.index.vocab.item_ids[1:]), max_size=20, unique=True))
    k = draw(st.integers(1, 100))
    seen = draw(st.booleans())
    # mixed-case category names must resolve to the catalog's spelling
    inc = [c.lower() if draw(st.booleans()) else c for c in inc]
    return user, Constraints(k=k, exclude_seen=seen, include_categories=inc, exclude_categories=exc, year_min=y1,
                             year_max=y2, exclude_items=block)


def _check(world: OfflineWorld, user: str | None, c: Constraints) -> None:
    sig = world.signals(user)
    out = world.ranker.rank(sig, c)
    seen_ids = {world.index.vocab.item_ids[i] for i in np.flatnonzero(sig.seen[1:]) + 1}
    ids = [world.index.vocab.item_ids[i] for i in out.items]
    assert len(ids) == len(set(ids)), "duplicates"
    assert len(ids) <= c.k
    inc = {x.lower() for x in c.include_categories}
    exc = set(c.exclude_categories)
    for i, iid in zip(out.items.tolist(), ids, strict=True):
        cats = set(world.index.item_categories[i])
        year = int(world.index.years[i])
        if c.exclude_seen:
            assert iid not in seen_ids
        assert iid not in c.exclude_items
        if inc:
            assert {x.lower() for x in cats} & inc
        assert not cats & exc
        if c.year_min is not None:
            assert year >= c.year_min
        if c.year_max is not None:
            assert 0 <= year <= c.year_max
    # exactly min(k, allowed) items; a shortfall is reported iff the catalog cannot fill k
    n_allowed = int(allowed_mask(world.index, sig.seen, out.constraints).sum())
    assert len(ids) == min(c.k, n_allowed)
    assert (out.shortfall is not None) == (n_allowed < c.k)
    assert list(out.scores) == sorted(out.scores, reverse=True)


def test_constraints_hold_exactly_on_random_requests(world: OfflineWorld) -> None:
    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(req=requests(world))
    def prop(req: tuple[str | None, Constraints]) -> None:
        _check(world, *req)

    prop()


def test_allow_seen_can_return_seen_items_and_unseen_cannot(world: OfflineWorld) -> None:
    user = world.data.user_ids[0]
    sig = world.signals(user)
    seen = set(np.flatnonzero(sig.seen[1:]) + 1)
    strict = world.ranker.rank(sig, Constraints(k=100, exclude_seen=True))
    assert not seen & set(strict.items.tolist())
    loose = world.ranker.rank(sig, Constraints(k=100, exclude_seen=False))
    assert len(loose.items) == 100


def test_impossible_request_is_a_shortfall_not_an_error(world: OfflineWorld) -> None:
    sig = world.signals(world.data.user_ids[1])
    out = world.ranker.rank(sig, Constraints(k=10, year_min=2999))
    assert len(out.items) == 0 and out.shortfall is not None and "0 of the requested 10" in out.shortfall


def test_unknown_category_is_a_clear_error(world: OfflineWorld) -> None:
    with pytest.raises(InvalidRequestError, match="unknown category 'Horor'"):
        world.ranker.rank(world.signals(None), Constraints(exclude_categories=["Horor"]))
