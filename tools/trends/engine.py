"""One user's trends: series → per-category fits → change points → labels → ``UserTrends``."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from evorec.tools.trends.changepoints import CategoryChange, detect_changes
from evorec.tools.trends.config import TrendConfig
from evorec.tools.trends.events import TrendEvent, normalise_events
from evorec.tools.trends.fitting import MODEL_TEXT, FitOutcome, Observed, ewma_bootstrap, fit_series
from evorec.tools.trends.labels import change_interval, decide_label, wilson
from evorec.tools.trends.results import (
    CategoryForecast,
    CategoryTrend,
    ChangePoint,
    Switch,
    UserTrends,
    iso_date,
)
from evorec.tools.trends.series import build_series, humanise_seconds, shrink_matrix


def _insufficient(user_id: str, reason: str, evs: list[TrendEvent], t0: float) -> UserTrends:
    return UserTrends(user_id=user_id, status="insufficient_history", reason=reason, n_events=len(evs),
                      first_date=iso_date(evs[0].ts) if evs else None, last_date=iso_date(evs[-1].ts) if evs else None,
                      last_event_id=evs[-1].event_id if evs else None, elapsed_ms=(time.perf_counter() - t0) * 1e3)


def _change_point(ch: CategoryChange) -> ChangePoint:
    return ChangePoint(category=ch.category, ts=ch.ts, date=iso_date(ch.ts), direction=ch.direction,
                       before=round(ch.before, 4), after=round(ch.after, 4), sudden=ch.sudden,
                       start=iso_date(ch.start_ts), end=iso_date(ch.end_ts), statistic=round(ch.lr, 2),
                       n_before=ch.n_before, n_after=ch.n_after)


def _switches(changes: dict[str, CategoryChange], n_events: int) -> list[Switch]:
    """Pair sudden rises with sudden drops a few events apart."""
    tol = max(3, round(0.1 * n_events))
    ups = [c for c in changes.values() if c.sudden and c.direction == "up"]
    downs = [c for c in changes.values() if c.sudden and c.direction == "down"]
    out: list[Switch] = []
    used: set[str] = set()
    for u in sorted(ups, key=lambda c: -c.lr):
        near = [d for d in downs if abs(d.index - u.index) <= tol and d.category not in used]
        if not near:
            continue
        used.update(d.category for d in near)
        ts = int(np.median([u.ts, *(d.ts for d in near)]))
        out.append(Switch(ts=ts, date=iso_date(ts), from_categories=[d.category for d in near],
                          to_categories=[u.category]))
    return out


def analyse_user(user_id: str, events: Iterable[Any] | None, categories: list[str] | None = None,
                 cfg: TrendConfig | None = None) -> UserTrends:
    """Trends of one user's interests; never raises for thin histories (status ``insufficient_history``)."""
    t0 = time.perf_counter()
    cfg = cfg or TrendConfig()
    evs = [e for e in normalise_events(events) if e.categories]
    if not evs:
        return _insufficient(user_id, "no events with categories", evs, t0)
    if len(evs) < cfg.min_events:
        return _insufficient(user_id, f"only {len(evs)} event{'s' if len(evs) != 1 else ''} "
                             f"(at least {cfg.min_events} needed)", evs, t0)
    cats = {c for e in evs for c in e.categories}
    if len(cats) < 2:
        return _insufficient(user_id, f"every event is in one category ({next(iter(cats))}): no shares to compare",
                             evs, t0)
    if evs[0].ts == evs[-1].ts:
        return _insufficient(user_id, "all events share one timestamp: no time series", evs, t0)

    s = build_series(evs, categories, cfg)
    T = s.n_buckets
    R = s.recent_buckets(cfg.recent_fraction)
    h = R
    edges = s.bucketing.edges
    recent_start = int(edges[T - R])
    width = s.bucketing.width_s
    recent_label = humanise_seconds(R * width)
    fc_start, fc_end = iso_date(s.bucketing.end_ts), iso_date(s.bucketing.end_ts + h * width)
    changes = detect_changes(s.categories, s.event_ts, s.event_weights, cfg)
    short = s.n_events < cfg.min_events_for_models
    sizes = s.counts.sum(axis=0)
    big = [s.categories[j] for j in np.argsort(-sizes)[: cfg.sarimax_max_categories]
           if sizes[j] >= cfg.sarimax_min_events]
    use_sarimax = {c for c in big if cfg.sarimax_min_buckets <= T}
    in_recent = s.event_ts >= recent_start
    n_recent = float(s.event_weights[in_recent].sum())
    if cfg.reference_window == "first_half":
        default_ref = s.event_ts < (int(s.event_ts[0]) + int(s.event_ts[-1])) / 2
    else:
        default_ref = ~in_recent

    trends: list[CategoryTrend] = []
    for j, cat in enumerate(s.categories):
        ch = changes.get(cat)
        # after a structural break, fit on the data since the break (ramp included for gradual drifts)
        start = s.segment_start(ch.ts if ch.sudden else ch.start_ts, cfg.min_segment_buckets) if ch else 0
        if short or s.counts[:, j].sum() < cfg.min_category_events:
            fit: FitOutcome = ewma_bootstrap(s.counts[start:, j], s.totals[start:], h, cfg.interval_level,
                                             cfg.ewma_alpha, cfg.bootstrap_draws, seed=j)
        else:
            # fitted on the non-empty buckets only ("activity time"): carried-forward runs of a bursty
            # user would look like a random walk and pull the smoothing toward chasing noise
            keep = np.flatnonzero(s.totals[start:] > 0) + start
            sh, tot = s.shares[keep, j], s.totals[keep]
            mix = shrink_matrix(tot, cfg.smoothing_events)
            fit = fit_series(mix @ sh, Observed(sh, tot, mix), h, cfg.interval_level,
                             cat in use_sarimax and len(keep) >= cfg.sarimax_min_buckets)
            full = np.full(T, np.nan)
            full[keep] = fit.fitted
            fit.fitted = full
        ref_mask = np.arange(s.n_events) < ch.index if ch is not None else default_ref
        n_ref = float(s.event_weights[ref_mask].sum())
        k_ref = float(s.event_weights[ref_mask, j].sum())
        ref = k_ref / n_ref if n_ref > 0 else 0.0
        ref_lo, ref_hi = wilson(k_ref, n_ref, cfg.reference_level)
        k_recent = float(s.event_weights[in_recent, j].sum())
        recent = k_recent / n_recent if n_recent > 0 else 0.0
        d_lo, d_hi = change_interval(k_ref, n_ref, fit.window_mean, fit.window_lower, fit.window_upper,
                                     cfg.interval_level, cfg.label_level if ch is not None else cfg.label_level_no_cp)
        label = decide_label(ref, d_lo, d_hi, fit.window_mean, recent, cfg)
        ref_ts = s.event_ts[ref_mask]
        since_ts = None if label == "stable" else ch.ts if ch is not None else recent_start
        trends.append(CategoryTrend(
            category=cat, label=label, model=fit.model, model_text=MODEL_TEXT[fit.model], aicc=fit.aicc,
            candidates={k: round(v, 3) for k, v in fit.candidates.items()}, params=fit.params,
            level=round(fit.level, 4), slope=round(fit.slope, 5), reference_share=round(ref, 4),
            reference_low=round(ref_lo, 4), reference_high=round(ref_hi, 4),
            reference_start=iso_date(int(ref_ts[0])) if len(ref_ts) else iso_date(int(s.event_ts[0])),
            reference_end=iso_date(int(ref_ts[-1])) if len(ref_ts) else iso_date(int(s.event_ts[0])),
            reference_events=round(n_ref, 2), change_low=round(d_lo, 4), change_high=round(d_hi, 4),
            recent_share=round(recent, 4), recent_events=round(k_recent, 2),
            events=round(float(s.event_weights[:, j].sum()), 2),
            forecast=CategoryForecast(horizon=h, start=fc_start, end=fc_end, mean=_r(fit.mean), lower=_r(fit.lower),
                                      upper=_r(fit.upper), window_mean=round(fit.window_mean, 4),
                                      window_lower=round(fit.window_lower, 4), window_upper=round(fit.window_upper, 4),
                                      window_pi_lower=round(fit.window_pi_lower, 4),
                                      window_pi_upper=round(fit.window_pi_upper, 4),
                                      level=cfg.interval_level),
            change=_change_point(ch) if ch is not None else None,
            since=iso_date(since_ts) if since_ts is not None else None, since_ts=since_ts, history=_r(s.shares[:, j]),
            fitted=_r(fit.fitted), recent_label=recent_label, recent_end=iso_date(int(s.event_ts[-1])),
            warnings=fit.warnings,
        ))
    order = {"emerging": 0, "rising": 1, "dormant": 2, "fading": 3, "stable": 4}
    trends.sort(key=lambda c: (order[c.label], -abs(c.forecast.window_mean - c.reference_share) if c.label != "stable"
                               else -c.forecast.window_mean))
    return UserTrends(
        user_id=user_id, status="ok", n_events=s.n_events, first_date=iso_date(int(s.event_ts[0])),
        last_date=iso_date(int(s.event_ts[-1])), last_event_id=evs[-1].event_id, bucket_width_s=width,
        bucket_label=s.bucketing.label, bucket_edges=[int(x) for x in edges], recent_buckets=R,
        bucket_events=[round(float(v), 2) for v in s.totals],
        recent_label=recent_label, interval_level=cfg.interval_level, categories=trends,
        switches=_switches(changes, s.n_events), elapsed_ms=round((time.perf_counter() - t0) * 1e3, 3),
    )


def _r(a: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else round(float(v), 4) for v in a]

