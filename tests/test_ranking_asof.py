"""Offline fusion cases are scored as of their own time: later events (anyone's) cannot reach a case's popularity,
popularity trend, catalog trends, candidate pool or features."""

from __future__ import annotations

import numpy as np

from evorec.tools.candidates import default_sources, gather
from evorec.tools.data.schema import Dataset
from evorec.tools.data.sequences import History, SequenceData
from evorec.tools.ranking.features import FEATURES, feature_matrix
from evorec.tools.ranking.index import CATALOG_STEP_DAYS, DAY, RankingIndex, case_index
from evorec.tools.ranking.signals import compute_signals
from evorec.tools.ranking.trend_labels import catalog_trends_from_events


def _cut(histories: list[History], ts: int) -> list[History]:
    out = []
    for h in histories:
        keep = h.times <= ts
        out.append(History(h.items[keep], h.times[keep]))
    return out


def test_a_case_cannot_see_later_events(synthetic_dataset: Dataset) -> None:
    data = SequenceData.from_dataset(synthetic_dataset)
    times = np.concatenate([h.times for h in data.histories])
    t0 = int(np.quantile(times, 0.6))
    case = _cut([data.histories[0]], t0)[0]
    assert len(case) >= 3
    t_case = int(case.times[-1])
    # the future: a burst of one item, bought by everyone right after the case
    burst = 7
    later = [History(np.concatenate([h.items, [burst] * 5]), np.concatenate([h.times, t_case + DAY * np.arange(1, 6)]))
             for h in _cut(data.histories, t_case)]
    full = RankingIndex.build(synthetic_dataset, later, data.vocab)
    full.attach_catalog_trends(later)
    past = RankingIndex.build(synthetic_dataset, _cut(later, t_case), data.vocab)
    past.attach_catalog_trends(_cut(later, t_case))
    assert full.popularity[burst] > past.popularity[burst]  # the burst is in the full index

    full.per_case = True
    sig = compute_signals(full, "u", case)
    assert sig.as_of == t_case
    view = case_index(full, sig.as_of)
    np.testing.assert_array_equal(view.popularity, past.popularity)
    np.testing.assert_array_equal(view.pop_trend(), past.pop_trend())
    np.testing.assert_array_equal(view.pop_rank, past.pop_rank)
    assert view.now_ts == t_case
    # catalog trends are fitted as of the start of the case's step (never after the case), on events the index
    # without the burst holds too: the same scores
    step = CATALOG_STEP_DAYS * DAY
    start = (t_case // step) * step
    assert start <= t_case
    keep = past.ev_times <= start
    want = catalog_trends_from_events(past, past.ev_items[keep], past.ev_times[keep])
    if want is None:
        assert view.catalog_score is None
    else:
        np.testing.assert_array_equal(view.catalog_score, want[0])
    sources = default_sources()
    allowed = ~sig.seen
    allowed[0] = False
    pool = gather(sources, view, sig, allowed)
    X = feature_matrix(view, sig, pool.items, pool.membership, pool.source_names)
    past_sig = compute_signals(past, "u", case)
    X_past = feature_matrix(past, past_sig, pool.items, pool.membership, pool.source_names)
    for name in ("pop", "pop_trend"):
        j = FEATURES.index(name)
        np.testing.assert_array_equal(X[:, j], X_past[:, j])
    # without per-case scoring the burst leaks into the case (what the fix removes)
    full.per_case = False
    leaky = case_index(full, compute_signals(full, "u", case).as_of)
    assert leaky is full and leaky.popularity[burst] > past.popularity[burst]
