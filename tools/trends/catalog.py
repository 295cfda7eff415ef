"""Catalog-level trends: items and categories whose share of all interactions is rising in the recent window.

Same family as the user trends: shares per time bucket (here of everyone's interactions), the
same statsmodels ETS fits (SARIMAX is skipped here: hundreds of series), the same change interval
(at ``label_level``: a ranking signal, not a per-user alarm). Item shares are tiny, so "material" is relative
only: a label needs the forecast share to be ``min_lift`` x the reference (no absolute minimum).
Items need ``min_recent`` interactions in the recent window to be considered; the ``max_items``
most active there are fitted. ``score`` = lower end of the change interval (share points): it
favours items that are both clearly rising and popular.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from evorec.errors import InvalidRequestError
from evorec.tools.evidence import Evidence, evidence_id
from evorec.tools.trends.config import TrendConfig
from evorec.tools.trends.fitting import Observed, fit_series
from evorec.tools.trends.labels import change_interval, decide_label
from evorec.tools.trends.results import Label, iso_date
from evorec.tools.trends.series import choose_bucketing, humanise_seconds, shrink_matrix


def _p(x: float) -> str:
    return f"{100 * x:.2f} %"


class TrendingEntry(BaseModel):
    kind: Literal["item", "category"]
    key: str = Field(description="item id or category name")
    title: str = ""
    categories: list[str] = Field(default_factory=list)
    label: Label
    model: str
    reference_share: float = Field(description="Share of all interactions before the recent window.")
    recent_share: float
    recent_count: float
    forecast_share: float
    forecast_low: float
    forecast_high: float
    change_low: float
    change_high: float
    slope: float
    score: float
    history: list[float] = Field(default_factory=list)

    def summary(self, recent_label: str, as_of_date: str) -> str:
        """What everyone is doing, in plain words (counts and shares; the model's scores stay in numbers)."""
        name = self.title if self.kind == "item" and self.title else self.key
        now = f"{_p(self.recent_share)} of everyone's picks in the last {recent_label} (to {as_of_date})"
        if self.label == "emerging":
            return f"{name} is newly popular: {now}."
        if self.label == "rising":
            return f"More and more people pick {name}: {now}, up from {_p(self.reference_share)} before."
        if self.label in ("fading", "dormant"):
            return f"Fewer people pick {name} lately: {now}, down from {_p(self.reference_share)} before."
        return f"{name} holds steady: {now}, against {_p(self.reference_share)} before."


class CatalogTrends(BaseModel):
    status: Literal["ok", "insufficient_history"] = "ok"
    reason: str | None = None
    as_of: int = 0
    as_of_date: str = ""
    bucket_label: str = ""
    bucket_width_s: int = 0
    n_buckets: int = 0
    recent_label: str = ""
    n_interactions: int = 0
    items: list[TrendingEntry] = Field(default_factory=list, description="Rising/emerging items, best score first.")
    categories: list[TrendingEntry] = Field(default_factory=list, description="Every category, best score first.")
    fitted_items: int = 0
    elapsed_ms: float = 0.0

    def item_ids(self) -> list[str]:
        return [e.key for e in self.items]

    def get(self, item_id: str) -> TrendingEntry | None:
        return next((e for e in self.items if e.key == str(item_id)), None)

    def summary(self, max_lines: int = 8) -> str:
        if self.status != "ok":
            return f"Catalog trends: insufficient history ({self.reason})."
        lines = [f"Trending in the last {self.recent_label} (to {self.as_of_date}):"]
        lines += [f"- {e.summary(self.recent_label, self.as_of_date)}" for e in self.items[:max_lines]]
        up = [c.key for c in self.categories if c.label in ("rising", "emerging")]
        down = [c.key for c in self.categories if c.label in ("fading", "dormant")]
        if up or down:
            lines.append(f"Categories rising: {', '.join(up) or 'none'}; fading: {', '.join(down) or 'none'}.")
        return "\n".join(lines)

    @property
    def evidence(self) -> list[Evidence]:
        out = []
        for e in self.items:
            out.append(Evidence(
                id=evidence_id("trending", e.key), kind="trending", item_id=e.key,
                text=e.summary(self.recent_label, self.as_of_date),
                numbers={"reference_share": round(e.reference_share, 6), "recent_share": round(e.recent_share, 6),
                         "recent_count": e.recent_count, "forecast_low": round(e.forecast_low, 6),
                         "forecast_high": round(e.forecast_high, 6), "score": round(e.score, 6)},
                dates={"as_of": self.as_of_date},
            ))
        return out


def _entry(kind: Literal["item", "category"], key: str, counts: np.ndarray, totals: np.ndarray, R: int,
           cfg: TrendConfig, title: str = "", categories: list[str] | None = None) -> TrendingEntry:
    T = len(totals)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    mix = shrink_matrix(totals, cfg.smoothing_events)
    fit = fit_series(mix @ shares, Observed(shares, totals, mix), R, cfg.interval_level, use_sarimax=False)
    k_ref, n_ref = float(counts[: T - R].sum()), float(totals[: T - R].sum())
    ref = k_ref / n_ref if n_ref > 0 else 0.0
    k_rec, n_rec = float(counts[T - R:].sum()), float(totals[T - R:].sum())
    recent = k_rec / n_rec if n_rec > 0 else 0.0
    lo, hi = change_interval(k_ref, n_ref, fit.window_mean, fit.window_lower, fit.window_upper, cfg.interval_level,
                             cfg.label_level)
    label = decide_label(ref, lo, hi, fit.window_mean, recent, cfg)
    return TrendingEntry(kind=kind, key=key, title=title, categories=categories or [], label=label, model=fit.model,
                         reference_share=round(ref, 6), recent_share=round(recent, 6), recent_count=round(k_rec, 2),
                         forecast_share=round(fit.window_mean, 6), forecast_low=round(fit.window_lower, 6),
                         forecast_high=round(fit.window_upper, 6), change_low=round(lo, 6), change_high=round(hi, 6),
                         slope=round(fit.slope, 7), score=round(lo, 6), history=[round(float(v), 6) for v in shares])


def catalog_trends(interactions: pd.DataFrame, items: pd.DataFrame, as_of: int | None = None, top_k: int = 50,
                   min_recent: int = 5, max_items: int = 300, buckets: int = 24, min_lift: float = 1.5,
                   config: TrendConfig | None = None) -> CatalogTrends:
    """Trending items and categories from everyone's interactions (columns user_id, item_id, ts) up to ``as_of``."""
    t0 = time.perf_counter()
    if not {"item_id", "ts"} <= set(interactions.columns):
        raise InvalidRequestError("interactions need columns item_id and ts")
    ints = interactions if as_of is None else interactions[interactions["ts"] <= as_of]
    if len(ints) < 20 or ints["ts"].nunique() < 2:
        return CatalogTrends(status="insufficient_history", reason=f"only {len(ints)} interactions",
                             n_interactions=len(ints))
    base = config or TrendConfig()
    cfg = base.model_copy(update={"min_abs_change": 0.0, "min_ratio": min_lift, "absent_share": 0.0})
    ts = ints["ts"].to_numpy(dtype=np.int64)
    first, last = int(ts.min()), int(ts.max())
    bcfg = cfg.model_copy(update={"events_per_bucket": max(1.0, len(ts) / buckets), "min_buckets": 8,
                                  "max_buckets": max(8, buckets + buckets // 2)})
    b = choose_bucketing(first, last, len(ts), bcfg)
    idx = b.index_of(ts)
    T = b.n_buckets
    R = max(1, min(T - 1, round(T * cfg.recent_fraction)))
    totals = np.bincount(idx, minlength=T).astype(float)
    item_ids = ints["item_id"].astype(str).to_numpy()
    recent = pd.Series(item_ids[idx >= T - R]).value_counts()
    cand = recent[recent >= min_recent].index[:max_items].tolist()
    meta = items.set_index(items["item_id"].astype(str))
    codes = {iid: j for j, iid in enumerate(cand)}
    sel = np.array([codes.get(i, -1) for i in item_ids])
    counts = np.zeros((len(cand), T))
    np.add.at(counts, (sel[sel >= 0], idx[sel >= 0]), 1.0)
    entries = []
    for j, iid in enumerate(cand):
        title = str(meta.at[iid, "title"]) if iid in meta.index else ""
        cats = list(meta.at[iid, "categories"]) if iid in meta.index else []
        entries.append(_entry("item", iid, counts[j], totals, R, cfg, title, cats))
    rising = sorted((e for e in entries if e.label in ("rising", "emerging")), key=lambda e: -e.score)[:top_k]
    # categories: an interaction counts once, split over its item's categories
    cat_of = {str(i): list(c) for i, c in zip(items["item_id"], items["categories"], strict=True)}
    names = sorted({c for cs in cat_of.values() for c in cs})
    col = {c: k for k, c in enumerate(names)}
    uniq, inv = np.unique(item_ids, return_inverse=True)
    item_w = np.zeros((len(uniq), len(names)))
    for u, iid in enumerate(uniq):
        cs = cat_of.get(str(iid), [])
        for c in cs:
            item_w[u, col[c]] += 1.0 / len(cs)
    per_bucket = np.zeros((T, len(uniq)))
    np.add.at(per_bucket, (idx, inv), 1.0)
    ccounts = (per_bucket @ item_w).T
    cats = [_entry("category", c, ccounts[k], totals, R, cfg) for k, c in enumerate(names) if ccounts[k].sum() > 0]
    cats.sort(key=lambda e: -e.score)
    return CatalogTrends(as_of=last, as_of_date=iso_date(last), bucket_label=b.label, bucket_width_s=b.width_s,
                         n_buckets=T, recent_label=humanise_seconds(R * b.width_s), n_interactions=len(ts),
                         items=rising, categories=cats, fitted_items=len(cand),
                         elapsed_ms=round((time.perf_counter() - t0) * 1e3, 1))
