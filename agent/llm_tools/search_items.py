"""``search_items``: catalog items whose text matches a described plot or topic (facts, not candidates)."""

from __future__ import annotations

from pydantic import Field

from evorec.agent.llm_tool import LLMTool, ToolArgs, ToolContext, ToolOutput
from evorec.agent.tool_summaries import hits_summary


class Args(ToolArgs):
    query: str = Field(min_length=1, max_length=300, description="What the items are about.")
    k: int = Field(5, ge=1, le=20)


def run(ctx: ToolContext, a: Args) -> ToolOutput:
    found = ctx.toolbox.search_items(a.query, k=a.k)
    return ToolOutput(summary=hits_summary(found.hits, a.query), evidence=found.evidence,
                      titles={h.item_id: h.title for h in found.hits})


TOOL = LLMTool(name="search_items", args=Args, run=run, offered_at=1)
