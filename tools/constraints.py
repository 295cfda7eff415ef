"""Hard constraints on a recommendation request, shared by the API, the agent tools and the CLI.

They are applied exactly (filters), never as soft penalties.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Constraints(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k: int = Field(10, ge=1, le=100, description="How many items to return.")
    exclude_seen: bool = Field(True, description="Never return items the user already interacted with.")
    include_categories: list[str] = Field(default_factory=list, description="If set, every item has at least one.")
    exclude_categories: list[str] = Field(default_factory=list, description="No item has any of these.")
    year_min: int | None = Field(None, ge=0, le=3000)
    year_max: int | None = Field(None, ge=0, le=3000)
    exclude_items: list[str] = Field(default_factory=list, description="Explicit item blocklist (ids).")

    @model_validator(mode="after")
    def _check(self) -> Constraints:
        if self.year_min is not None and self.year_max is not None and self.year_min > self.year_max:
            raise ValueError(f"year_min {self.year_min} is after year_max {self.year_max}")
        both = set(self.include_categories) & set(self.exclude_categories)
        if both:
            raise ValueError(f"categories both included and excluded: {sorted(both)}")
        return self

    def merged_with(self, later: Constraints) -> Constraints:
        """Accumulate preferences across chat turns; the later request wins on conflicts."""
        excl = [c for c in self.exclude_categories if c not in later.include_categories]
        incl = [c for c in self.include_categories if c not in later.exclude_categories]
        return Constraints(
            k=later.k,
            exclude_seen=self.exclude_seen and later.exclude_seen,
            include_categories=list(dict.fromkeys(incl + later.include_categories)),
            exclude_categories=list(dict.fromkeys(excl + later.exclude_categories)),
            year_min=later.year_min if later.year_min is not None else self.year_min,
            year_max=later.year_max if later.year_max is not None else self.year_max,
            exclude_items=list(dict.fromkeys(self.exclude_items + later.exclude_items)),
        )

    def allows(self, item_id: str, categories: list[str], year: int | None, seen: set[str]) -> bool:
        if self.exclude_seen and item_id in seen:
            return False
        if item_id in self.exclude_items:
            return False
        cats = set(categories)
        if self.include_categories and not cats & set(self.include_categories):
            return False
        if cats & set(self.exclude_categories):
            return False
        if self.year_min is not None and (year is None or year < self.year_min):
            return False
        return not (self.year_max is not None and (year is None or year > self.year_max))
