"""Trend engine: series, statsmodels fits, labels, change points, insufficient history, cache."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

from evorec.tools.evidence import Evidence
from evorec.tools.trends import TrendConfig, TrendService, UserTrends, analyse_user
from evorec.tools.trends.events import normalise_events
from evorec.tools.trends.fitting import Observed, fit_series, statsmodels_params
from evorec.tools.trends.series import build_series

DAY = 86_400
T0 = 1_700_000_000


def _events(rng: np.random.Generator, n: int, span_days: float, mix_fn, t0: int = T0) -> list[tuple]:
    """n events over span_days; category drawn from mix_fn(fraction of the way) -> {cat: prob}."""
    ts = np.sort(rng.uniform(0, span_days * DAY, n)).astype(np.int64) + t0
    out = []
    for i, t in enumerate(ts):
        mix = mix_fn(i / n)
        cats = list(mix)
        c = cats[int(rng.choice(len(cats), p=np.array([mix[k] for k in cats]) / sum(mix.values())))]
        out.append((int(t), [c], f"e{i}"))
    return out


def _switch(f: float) -> dict[str, float]:
    return {"Drama": 0.7, "Comedy": 0.3} if f < 0.45 else {"Sci-Fi": 0.7, "Comedy": 0.3}


def _stable(f: float) -> dict[str, float]:
    return {"Drama": 0.5, "Comedy": 0.3, "Horror": 0.2}


@pytest.mark.parametrize(("events", "why"), [
    ([], "no events"),
    ([(T0, ["Drama"], "e1")], "only 1 event"),
    ([(T0 + i, ["Drama"], f"e{i}") for i in range(20)], "one category"),
    ([(T0, ["Drama"], "a"), (T0, ["Comedy"], "b"), (T0, ["Drama"], "c")], "one timestamp"),
    ([(T0, [], "a"), (T0 + 5, [], "b")], "no events with categories"),
])
def test_insufficient_history_is_a_typed_answer(events: list, why: str) -> None:
    t = TrendService(["Drama", "Comedy"]).user_trends("u", events)
    assert t.status == "insufficient_history"
    assert t.reason and why.split()[-1] in t.reason
    assert t.evidence == [] and t.categories == []
    assert "not enough history" in t.summary().lower()


def test_events_accept_tuples_dicts_and_objects_and_get_sorted() -> None:
    class Obj:
        def __init__(self, ts: int) -> None:
            self.ts, self.categories, self.event_id, self.item_id = ts, ["Drama"], f"o{ts}", "i1"

    evs = normalise_events([(30, ["A"], "t"), {"ts": 10, "categories": "A|B", "event_id": "d"}, Obj(20)])
    assert [e.ts for e in evs] == [10, 20, 30]
    assert evs[0].categories == ["A", "B"] and evs[1].item_id == "i1"


def test_bucket_width_follows_span_and_density() -> None:
    rng = np.random.default_rng(0)
    cfg = TrendConfig()
    heavy = normalise_events(_events(rng, 300, 30, _stable))
    light = normalise_events(_events(rng, 60, 5 * 365, _stable))
    sh, sl = build_series(heavy, None, cfg), build_series(light, None, cfg)
    for s in (sh, sl):
        assert cfg.min_buckets <= s.n_buckets <= cfg.max_buckets
        nonempty = s.totals > 0
        assert np.allclose(s.shares[nonempty].sum(axis=1), 1.0)
        assert np.all(s.shares[~nonempty] == 0) and np.all(s.counts[~nonempty] == 0)
        assert s.counts.sum() == pytest.approx(s.n_events)
    assert sh.bucketing.width_s <= 2 * DAY < 30 * DAY <= sl.bucketing.width_s


def test_multi_category_events_split_their_unit() -> None:
    evs = normalise_events([(T0, ["A", "B"], "1"), (T0 + DAY, ["A"], "2"), (T0 + 2 * DAY, ["B"], "3")])
    s = build_series(evs, ["B", "A"], TrendConfig())
    assert s.categories == ["B", "A"]
    assert s.event_weights[0].tolist() == [0.5, 0.5]
    assert s.counts.sum(axis=0).tolist() == [1.5, 1.5]


def test_fast_fit_equals_statsmodels_smoothing_and_prediction_intervals() -> None:
    rng = np.random.default_rng(3)
    for trend in (0.0, 0.02):
        y = np.clip(0.2 + trend * np.arange(20) + rng.normal(0, 0.05, 20), 0, 1)
        out = fit_series(y, Observed(y, np.full(20, 5.0), np.eye(20)), 4, 0.9)
        assert out.model.startswith("ets_")
        is_trend = out.model != "ets_ann"
        m = ETSModel(pd.Series(y), error="add", trend="add" if is_trend else None,
                     damped_trend=out.model == "ets_aadn", initialization_method="known",
                     initial_level=out.params["initial_level"], initial_trend=0.0 if is_trend else None)
        res = m.smooth(statsmodels_params(out))
        assert float(np.asarray(res.level)[-1]) == pytest.approx(out.level, abs=1e-9)
        pf = res.get_prediction(start=20, end=23).summary_frame(alpha=0.1)
        assert np.allclose(pf["mean"].to_numpy(), out.mean, atol=1e-9)
        assert np.allclose(pf["pi_lower"].clip(0, 1).to_numpy(), out.lower, atol=1e-9)
        assert np.allclose(pf["pi_upper"].clip(0, 1).to_numpy(), out.upper, atol=1e-9)
        assert out.window_lower <= out.window_mean <= out.window_upper
        assert set(out.candidates) >= {"ets_ann", "ets_aan", "ets_aadn"}


def test_sarimax_is_a_candidate_on_long_series() -> None:
    rng = np.random.default_rng(4)
    y = np.clip(0.3 + rng.normal(0, 0.08, 36), 0, 1)
    out = fit_series(y, Observed(y, np.full(36, 5.0), np.eye(36)), 6, 0.9, use_sarimax=True)
    assert "sarimax_ar1" in out.candidates
    assert out.aicc == pytest.approx(min(out.candidates.values()))


def test_sudden_switch_is_labelled_with_its_date() -> None:
    rng = np.random.default_rng(5)
    evs = _events(rng, 80, 200, _switch)
    t = analyse_user("u1", evs, ["Drama", "Comedy", "Sci-Fi"])
    assert t.ok
    labels = t.labels
    assert labels["Sci-Fi"] in ("emerging", "rising") and labels["Drama"] in ("fading", "dormant")
    assert labels["Comedy"] == "stable"
    switch_ts = evs[int(0.45 * 80)][0]
    sci = t.get("Sci-Fi")
    assert sci is not None and sci.change is not None and sci.change.sudden
    assert abs(sci.change.ts - switch_ts) < 20 * DAY
    assert t.switches and t.switches[0].to_categories == ["Sci-Fi"] and "Drama" in t.switches[0].from_categories
    assert sci.forecast.window_lower > sci.reference_share  # the interval excludes no change


def test_stable_user_gets_no_labels() -> None:
    rng = np.random.default_rng(6)
    alarms = 0
    for _ in range(20):
        t = analyse_user("u", _events(rng, 60, 300, _stable))
        alarms += int(bool(t.with_label("emerging", "rising", "fading", "dormant") or t.switches))
    assert alarms <= 1


def test_result_summary_and_evidence_cite_numbers_and_dates() -> None:
    rng = np.random.default_rng(7)
    t = analyse_user("u1", _events(rng, 80, 200, _switch))
    ev = t.evidence
    assert all(isinstance(e, Evidence) and e.kind == "trend" for e in ev)
    ids = {e.id for e in ev}
    assert {"ev:trend:Sci-Fi", "ev:trend:Drama", "ev:trend:Comedy"} == ids
    sci = next(e for e in ev if e.id == "ev:trend:Sci-Fi")
    assert {"reference_share", "recent_share", "forecast_low", "forecast_high"} <= set(sci.numbers)
    assert sci.dates["change"][:2] == "20" and sci.dates["forecast_end"] > sci.dates["recent_end"]
    assert f"{round(100 * sci.numbers['recent_share'])} %" in sci.text
    assert "Sci-Fi" in t.summary() and t.forecast["Sci-Fi"].conf_int()
    UserTrends.model_validate_json(t.model_dump_json())  # round-trips


def test_short_history_uses_the_stated_fallback() -> None:
    evs = [(T0 + i * DAY, ["Drama" if i % 3 else "Comedy"], f"e{i}") for i in range(9)]
    t = analyse_user("u", evs)
    assert t.ok and {c.model for c in t.categories} == {"ewma_bootstrap"}
    assert all(c.forecast.window_lower <= c.forecast.window_mean <= c.forecast.window_upper for c in t.categories)


def test_cache_per_last_event_and_invalidation() -> None:
    rng = np.random.default_rng(8)
    evs = _events(rng, 40, 100, _stable)
    svc = TrendService()
    a = svc.user_trends("u", evs)
    assert svc.user_trends("u", list(evs)) is a
    assert svc.cache_info()["hits"] == 1
    b = svc.user_trends("u", [*evs, (evs[-1][0] + DAY, ["Drama"], "new")])
    assert b is not a and b.n_events == 41 and b.last_event_id == "new"
    assert svc.cache_info()["entries"] == 1  # the stale version was dropped
    assert svc.invalidate("u") == 1 and svc.cache_info()["entries"] == 0


def test_cache_evicts_the_least_recently_used_user() -> None:
    rng = np.random.default_rng(8)
    evs = _events(rng, 40, 100, _stable)
    svc = TrendService(cache_size=2)
    a = svc.user_trends("a", evs)
    svc.user_trends("b", evs)
    assert svc.user_trends("a", evs) is a  # a hit: "a" is now the most recently used
    svc.user_trends("c", evs)  # over the size: "b" goes, not "a"
    assert sorted(svc.cached_users()) == ["a", "c"] and svc.cache_info()["entries"] == 2


def test_warnings_are_never_silenced_globally() -> None:
    before = list(warnings.filters)
    rng = np.random.default_rng(9)
    analyse_user("u", _events(rng, 200, 400, _switch))
    assert list(warnings.filters) == before
