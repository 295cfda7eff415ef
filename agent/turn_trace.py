"""What a turn leaves behind beyond its answer: every LLM call with its cost, every tool outcome, the evidence."""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from evorec.agent.person_check import PersonIssue
from evorec.agent.preferences import PreferenceUpdate
from evorec.agent.recommendations import Recommendations
from evorec.agent.tool_calls import ToolOutcome
from evorec.tools.evidence import Evidence
from evorec.tools.wording import Lang


class LLMCall(BaseModel):
    purpose: str
    latency_ms: float
    ok: bool
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    prefill_ms: float | None = None
    generation_ms: float | None = None


class TurnTrace(BaseModel):
    """Everything evaluation needs about one turn beyond the answer itself."""

    llm_calls: list[LLMCall] = Field(default_factory=list)
    tools: list[ToolOutcome] = Field(default_factory=list)
    proposed_item_ids: list[str] = Field(default_factory=list, description="Item ids the LLM wrote, pre-validation.")
    repaired: bool = False
    preferences: PreferenceUpdate | None = None
    evidence: dict[str, Evidence] = Field(default_factory=dict)
    candidate_ids: list[str] = Field(default_factory=list)
    titles: dict[str, str] = Field(default_factory=dict)
    lang: Lang = Field("en", description="The request's language: what the answer is written in.")
    other_user: bool = Field(False, description="The request asked about another user (refused).")
    llm_texts: int = Field(0, description="Texts the LLM wrote that passed grounding (then the person check).")
    llm_text_issues: list[PersonIssue] = Field(default_factory=list, description="Person-check failures of LLM "
                                               "texts, each replaced by its template.")
    started_at: float = Field(default_factory=time.perf_counter, exclude=True, description="perf_counter at start.")


class TurnResult(BaseModel):
    recommendations: Recommendations
    trace: TurnTrace
