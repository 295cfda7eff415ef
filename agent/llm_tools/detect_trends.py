"""``detect_trends``: which of the session user's categories are emerging, rising, stable, fading or dormant."""

from __future__ import annotations

from evorec.agent.llm_tool import LLMTool, PreRun, ToolArgs, ToolContext, ToolOutput
from evorec.agent.tool_summaries import with_ids


class Args(ToolArgs):
    pass


def run(ctx: ToolContext, a: Args) -> ToolOutput:
    t = ctx.toolbox.detect_trends(ctx.user_id)
    return ToolOutput(summary=with_ids(t.summary(), t.evidence), evidence=t.evidence)


TOOL = LLMTool(name="detect_trends", args=Args, run=run, pre_run=PreRun(order=2))
