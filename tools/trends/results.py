"""Typed answers of the trend engine (statsmodels-results style: ``.forecast``, ``.summary()``, intervals).

Every number a rationale may quote is a field here and in ``.evidence``, with ISO dates.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from evorec.tools.evidence import Evidence, evidence_id

Label = Literal["emerging", "rising", "stable", "fading", "dormant"]
LABELS: tuple[Label, ...] = ("emerging", "rising", "stable", "fading", "dormant")


def iso_date(ts: int) -> str:
    return datetime.fromtimestamp(int(ts), UTC).date().isoformat()


def iso_time(ts: int) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pct(x: float) -> str:
    return f"{round(100 * x)} %"


def pct_range(lo: float, hi: float) -> str:
    a, b = round(100 * lo), round(100 * hi)
    return f"about {a} %" if a == b else f"{a}–{b} %"  # not "0–0 %"


class CategoryForecast(BaseModel):
    horizon: int = Field(description="Buckets ahead.")
    start: str = Field(description="ISO date the forecast window starts.")
    end: str = Field(description="ISO date the forecast window ends.")
    mean: list[float] = Field(description="Forecast share per future bucket.")
    lower: list[float]
    upper: list[float]
    window_mean: float = Field(description="Forecast mean share over the whole window.")
    window_lower: float = Field(description="Confidence interval of the expected window share (used for labels).")
    window_upper: float
    window_pi_lower: float = Field(description="Prediction interval of the share that will be observed.")
    window_pi_upper: float
    level: float = Field(description="Interval coverage, e.g. 0.9.")

    def conf_int(self) -> list[tuple[float, float]]:
        """Per-step (lower, upper), like statsmodels' ``get_forecast(h).conf_int()``."""
        return list(zip(self.lower, self.upper, strict=True))


class ChangePoint(BaseModel):
    category: str
    ts: int = Field(description="Estimated change time (unix seconds).")
    date: str
    direction: Literal["up", "down"]
    before: float = Field(description="Share before the change.")
    after: float = Field(description="Share after it.")
    sudden: bool = Field(description="True: a switch; False: a gradual drift between start and end.")
    start: str
    end: str
    statistic: float = Field(description="Max-split likelihood-ratio statistic.")
    n_before: int
    n_after: int


class Switch(BaseModel):
    """A sudden switch: categories that jumped up and others that dropped at about the same time."""

    ts: int
    date: str
    from_categories: list[str]
    to_categories: list[str]


class CategoryTrend(BaseModel):
    category: str
    label: Label
    model: str = Field(description="ets_ann | ets_aan | ets_aadn | sarimax_ar1 | ewma_bootstrap | constant.")
    model_text: str
    aicc: float | None = None
    candidates: dict[str, float] = Field(default_factory=dict, description="AICc of each candidate model tried.")
    params: dict[str, float] = Field(default_factory=dict)
    level: float = Field(description="Current share level (model state).")
    slope: float = Field(description="Change of the share per bucket (model trend).")
    reference_share: float = Field(description="Share before the change point, else before the recent window.")
    reference_low: float
    reference_high: float
    reference_start: str
    reference_end: str
    reference_events: float
    change_low: float = Field(description="Interval of (forecast share - reference share); a label other than"
                              " stable needs it to exclude 0.")
    change_high: float
    recent_share: float = Field(description="Observed share in the recent window.")
    recent_events: float
    events: float = Field(description="Events in this category (multi-category items count fractionally).")
    forecast: CategoryForecast
    change: ChangePoint | None = None
    since: str | None = Field(None, description="ISO date the movement behind a non-stable label began.")
    since_ts: int | None = Field(None, description="The same, unix seconds: the change point, else the start of the"
                                 " recent window.")
    history: list[float | None] = Field(description="Share per bucket (0 in empty buckets).")
    fitted: list[float | None] = Field(default_factory=list, description="One-step-ahead model fit per bucket"
                                       " (None before the fitted segment).")
    recent_label: str = Field(description="Length of the recent window, e.g. '60 days'.")
    recent_end: str
    warnings: list[str] = Field(default_factory=list, description="Handled warnings raised while fitting.")

    @property
    def evidence_id(self) -> str:
        return evidence_id("trend", self.category)

    def summary(self) -> str:
        """The trend in plain words, to the person: where the interest was, where it is, what to expect."""
        f = self.forecast
        c = self.category
        ref = pct(self.reference_share)
        when = f" before {self.since}" if self.since and self.change is not None else " before"
        now = f"{pct(self.recent_share)} in your last {self.recent_label} (to {self.recent_end})"
        ahead = f"expect {pct_range(f.window_lower, f.window_upper)} over the next {self.recent_label}"
        if self.label == "emerging":
            return f"{c} is new for you and growing: {ref} of your picks{when}, {now}; {ahead}."
        if self.label == "rising":
            return f"Your interest in {c} is growing: {ref} of your picks{when}, {now}; {ahead}."
        if self.label == "fading":
            return f"Your interest in {c} is fading: {ref} of your picks{when}, {now}; {ahead}."
        if self.label == "dormant":
            return f"You have stopped picking {c}: {ref} of your picks{when}, {now}; {ahead}."
        return f"Your interest in {c} is steady: {now}, against {ref} before; {ahead}."

    def as_evidence(self) -> Evidence:
        f = self.forecast
        numbers = {
            "reference_share": round(self.reference_share, 4), "recent_share": round(self.recent_share, 4),
            "forecast_share": round(f.window_mean, 4), "forecast_low": round(f.window_lower, 4),
            "forecast_high": round(f.window_upper, 4), "interval_level": f.level, "level": round(self.level, 4),
            "slope_per_bucket": round(self.slope, 4), "events": round(self.events, 2),
            "recent_events": round(self.recent_events, 2), "change_low": self.change_low,
            "change_high": self.change_high,
        }
        dates = {"reference_start": self.reference_start, "reference_end": self.reference_end,
                 "recent_end": self.recent_end, "forecast_start": f.start, "forecast_end": f.end}
        if self.change is not None:
            numbers.update({"change_before": round(self.change.before, 4), "change_after": round(self.change.after, 4)})
            dates["change"] = self.change.date
        return Evidence(id=self.evidence_id, kind="trend", text=self.summary(), numbers=numbers, dates=dates,
                        category=self.category)


class UserTrends(BaseModel):
    user_id: str
    status: Literal["ok", "insufficient_history"]
    reason: str | None = Field(None, description="Why the history is insufficient (status insufficient_history).")
    n_events: int = 0
    first_date: str | None = None
    last_date: str | None = None
    last_event_id: str | None = None
    bucket_width_s: int | None = None
    bucket_label: str | None = None
    bucket_edges: list[int] = Field(default_factory=list, description="Unix seconds, n_buckets + 1 of them.")
    bucket_events: list[float] = Field(default_factory=list, description="Events per bucket (0 = empty bucket).")
    recent_buckets: int = 0
    recent_label: str | None = None
    interval_level: float = 0.9
    categories: list[CategoryTrend] = Field(default_factory=list)
    switches: list[Switch] = Field(default_factory=list)
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def forecast(self) -> dict[str, CategoryForecast]:
        return {c.category: c.forecast for c in self.categories}

    @property
    def labels(self) -> dict[str, Label]:
        return {c.category: c.label for c in self.categories}

    def get(self, category: str) -> CategoryTrend | None:
        return next((c for c in self.categories if c.category == category), None)

    def with_label(self, *labels: Label) -> list[CategoryTrend]:
        return [c for c in self.categories if c.label in labels]

    @property
    def change_points(self) -> list[ChangePoint]:
        return sorted((c.change for c in self.categories if c.change is not None), key=lambda cp: cp.ts)

    def summary(self, max_lines: int = 6) -> str:
        if not self.ok:
            return f"Not enough history yet to see how your interests move ({self.reason})."
        moving = [c for c in self.categories if c.label != "stable"]
        steady = [c for c in self.categories if c.label == "stable"]
        head = f"How your interests moved over your {self.n_events} picks from {self.first_date} to {self.last_date}:"
        lines = [head] + [f"- {c.summary()}" for c in (moving + steady)[:max_lines]]
        for s in self.switches:
            lines.append(f"- Around {s.date} you switched from {', '.join(s.from_categories)} to "
                         f"{', '.join(s.to_categories)}.")
        return "\n".join(lines)

    @property
    def evidence(self) -> list[Evidence]:
        """One ``ev:trend:<category>`` record per category (none when the history is insufficient)."""
        return [c.as_evidence() for c in self.categories] if self.ok else []
