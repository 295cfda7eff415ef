"""``get_item``: one catalog item by id (title, year, categories)."""

from __future__ import annotations

from pydantic import Field

from evorec.agent.llm_tool import LLMTool, ToolArgs, ToolContext, ToolOutput
from evorec.agent.tool_summaries import hits_summary


class Args(ToolArgs):
    item_id: str = Field(min_length=1, max_length=100)


def run(ctx: ToolContext, a: Args) -> ToolOutput:
    hit = ctx.toolbox.get_item(a.item_id)
    if hit is None:
        return ToolOutput(summary=f"No item with id {a.item_id}.")
    return ToolOutput(summary=hits_summary([hit], None), evidence=hit.evidence, titles={hit.item_id: hit.title})


TOOL = LLMTool(name="get_item", args=Args, run=run, offered_at=3)
