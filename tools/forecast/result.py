"""``InterestForecast``: what ``forecast_interests`` returns to the agent, the API and the CLI."""

from __future__ import annotations

from pydantic import BaseModel, Field

from evorec.tools.evidence import Evidence

MIX_EVIDENCE_ID = "ev:forecast:mix"


class ForecastItem(BaseModel):
    item_id: str
    title: str
    score: float = Field(description="Forecaster next-item score (a logit; popularity count when cold start).")
    categories: list[str] = Field(default_factory=list)


class CategoryShift(BaseModel):
    category: str
    current: float = Field(description="Share of the category in the user's last `horizon` events.")
    forecast: float = Field(description="Forecast share over the next `horizon` events.")

    @property
    def delta(self) -> float:
        return self.forecast - self.current


class InterestForecast(BaseModel):
    user_id: str
    cold_start: bool = False
    dataset: str = ""
    horizon: int = Field(description="Events ahead the forecast mix covers (and events behind the current mix).")
    n_events: int = Field(0, description="Events in the history the forecast was made from.")
    current_mix: dict[str, float] = Field(default_factory=dict, description="Share per category, recent window.")
    forecast_mix: dict[str, float] = Field(default_factory=dict, description="Forecast share per category.")
    shifts: list[CategoryShift] = Field(default_factory=list, description="Top categories, largest share first.")
    top_items: list[ForecastItem] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)

    def evidence_by_id(self) -> dict[str, Evidence]:
        return {e.id: e for e in self.evidence}

    def rising(self, min_delta: float = 0.05) -> list[CategoryShift]:
        return sorted((s for s in self.shifts if s.delta >= min_delta), key=lambda s: -s.delta)

    def fading(self, min_delta: float = 0.05) -> list[CategoryShift]:
        return sorted((s for s in self.shifts if s.delta <= -min_delta), key=lambda s: s.delta)

    def summary(self, max_items: int = 5) -> str:
        """Compact text for the LLM, citing the evidence id; second person, titles without ids or scores."""
        if self.cold_start:
            head = (f"You have no history yet: shares across everyone, and the most popular picks "
                    f"[{MIX_EVIDENCE_ID}].")
        else:
            head = (f"Your last {self.horizon} picks against the forecast for your next {self.horizon} "
                    f"[{MIX_EVIDENCE_ID}]:")
        lines = [head]
        shifts = ", ".join(f"{s.category} {_pct(s.current)} -> {_pct(s.forecast)}" for s in self.shifts)
        if shifts:
            lines.append("  " + shifts)
        rising = [s.category for s in self.rising()]
        fading = [s.category for s in self.fading()]
        if rising or fading:
            lines.append(f"  growing: {', '.join(rising) or 'none'}; shrinking: {', '.join(fading) or 'none'}")
        if self.top_items:
            items = "; ".join(it.title for it in self.top_items[:max_items])
            lines.append(f"  likeliest next picks: {items}")
        return "\n".join(lines)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"
