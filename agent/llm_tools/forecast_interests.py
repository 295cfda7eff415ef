"""``forecast_interests``: the session user's category mix over the next events, and the likeliest next items."""

from __future__ import annotations

from pydantic import Field

from evorec.agent.llm_tool import LLMTool, PreRun, ToolArgs, ToolContext, ToolOutput
from evorec.agent.tool_summaries import with_ids


class Args(ToolArgs):
    horizon: int = Field(10, ge=1, le=50, description="How many future events to forecast the interest mix over.")


def run(ctx: ToolContext, a: Args) -> ToolOutput:
    f = ctx.toolbox.forecast_interests(ctx.user_id, horizon=a.horizon)
    return ToolOutput(summary=with_ids(f.summary(), f.evidence), evidence=f.evidence,
                      titles={i.item_id: i.title for i in f.top_items}, cold_start=f.cold_start)


TOOL = LLMTool(name="forecast_interests", args=Args, run=run, pre_run=PreRun(order=1))
