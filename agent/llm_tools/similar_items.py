"""``similar_items``: items like one the person names ("something like Alien"), by text similarity and
co-occurrence in histories, under the session's constraints. Its items may be recommended."""

from __future__ import annotations

from pydantic import Field

from evorec.agent.llm_tool import LLMTool, ToolArgs, ToolContext, ToolOutput
from evorec.agent.tool_summaries import ranked_summary


class Args(ToolArgs):
    item: str = Field(min_length=1, max_length=200, description="The title (or id) of the item the user named.")
    k: int = Field(5, ge=1, le=20, description="How many similar items to return.")


def run(ctx: ToolContext, a: Args) -> ToolOutput:
    c = ctx.constraints.model_copy(update={"k": a.k})
    ranked = ctx.toolbox.similar_items(ctx.user_id, a.item, c)
    return ToolOutput(summary=ranked_summary(ranked), evidence=ranked.evidence, ranked=ranked,
                      titles={it.item_id: it.title for it in ranked.items}, cold_start=ranked.cold_start,
                      applied={"effective_constraints": c.model_dump(exclude_defaults=True)})


TOOL = LLMTool(name="similar_items", args=Args, run=run, offered_at=4)
