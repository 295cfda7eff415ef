"""``rank_candidates``: the fused recommender's ranked items for the session user, under the session's
constraints (the model may narrow them, never relax them). Its items are what the answer may recommend."""

from __future__ import annotations

from pydantic import Field

from evorec.agent.llm_tool import LLMTool, ToolArgs, ToolContext, ToolOutput
from evorec.agent.tool_summaries import ranked_summary
from evorec.tools.constraints import Constraints


class Args(ToolArgs):
    k: int = Field(10, ge=1, le=50, description="How many items to rank.")
    include_categories: list[str] = Field(default_factory=list, description="Every item has one of these.")
    exclude_categories: list[str] = Field(default_factory=list, description="No item has any of these.")
    year_min: int | None = Field(None, ge=1800, le=2100)
    year_max: int | None = Field(None, ge=1800, le=2100)


def effective_constraints(ctx: ToolContext, a: Args) -> Constraints:
    """The model may narrow the request, never relax the session's stated preferences."""
    asked = Constraints(k=a.k, include_categories=[ctx.category(c) for c in a.include_categories],
                        exclude_categories=[ctx.category(c) for c in a.exclude_categories],
                        year_min=a.year_min, year_max=a.year_max, exclude_seen=ctx.constraints.exclude_seen)
    merged = asked.merged_with(ctx.constraints)
    return merged.model_copy(update={"k": max(ctx.constraints.k, a.k)})


def run(ctx: ToolContext, a: Args) -> ToolOutput:
    c = effective_constraints(ctx, a)
    ranked = ctx.toolbox.rank_candidates(ctx.user_id, c)
    return ToolOutput(summary=ranked_summary(ranked), evidence=ranked.evidence, ranked=ranked,
                      titles={it.item_id: it.title for it in ranked.items}, cold_start=ranked.cold_start,
                      applied={"effective_constraints": c.model_dump(exclude_defaults=True)})


TOOL = LLMTool(name="rank_candidates", args=Args, run=run, offered_at=0)
