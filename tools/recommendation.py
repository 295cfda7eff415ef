"""The ranked list ``rank_candidates`` returns: items, scores, sources and their evidence."""

from __future__ import annotations

from pydantic import BaseModel, Field

from evorec.tools.constraints import Constraints
from evorec.tools.evidence import Evidence, by_id


class ItemSummary(BaseModel):
    """What every ranked item shows, here and in the agent's answer (``RecommendedItem``)."""

    rank: int = Field(ge=1)
    item_id: str
    title: str
    categories: list[str] = Field(default_factory=list)
    year: int | None = None
    score: float
    sources: list[str] = Field(default_factory=list, description="Candidate sources that proposed it.")


class RankedItem(ItemSummary):
    features: dict[str, float] = Field(default_factory=dict)
    evidence_ids: list[str] = Field(default_factory=list)
    template_rationale: str = ""
    template_rationales: dict[str, str] = Field(default_factory=dict, description="The template rationale by "
                                                "language code (en, zh), for answers in the request's language.")


class RankedList(BaseModel):
    user_id: str
    items: list[RankedItem]
    evidence: list[Evidence] = Field(default_factory=list, description="Every record an item cites, once each.")
    constraints: Constraints
    cold_start: bool = False
    shortfall: str | None = Field(None, description="Set when constraints left fewer than k items.")
    timings_ms: dict[str, float] = Field(default_factory=dict)

    def evidence_by_id(self) -> dict[str, Evidence]:
        return by_id(self.evidence)
