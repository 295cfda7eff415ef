"""The structured answer every entry point returns (chat, API, Python, evals)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from evorec.tools.constraints import Constraints
from evorec.tools.evidence import Evidence
from evorec.tools.recommendation import ItemSummary


class Rationale(BaseModel):
    text: str
    evidence_ids: list[str] = Field(default_factory=list)
    source: Literal["llm", "template"] = Field(description="Who wrote it: the LLM, or the evidence template.")


class RecommendedItem(ItemSummary):
    rationale: Rationale
    evidence: list[Evidence] = Field(default_factory=list)


class Recommendations(BaseModel):
    user_id: str
    items: list[RecommendedItem]
    interest_summary: str | None = None
    interest_summary_source: Literal["llm", "template"] | None = None
    message: str | None = Field(None, description="Free-text reply for chat turns that are not a list.")
    constraints: Constraints
    cold_start: bool = False
    degraded: bool = Field(False, description="True when the plan-first executor answered without the LLM.")
    degraded_reason: str | None = None
    shortfall: str | None = None
    llm_calls: int = 0
    tool_calls: list[str] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list, description="What the grounding validator removed, and why.")
    timings_ms: dict[str, float] = Field(default_factory=dict)
