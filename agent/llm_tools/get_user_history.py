"""``get_user_history``: the session user's events (a date window, the most recent ones, or a search inside them)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import Field, field_validator

from evorec.agent.llm_tool import LLMTool, PreRun, ToolArgs, ToolContext, ToolOutput

EVIDENCE_SHOWN = 6


class Args(ToolArgs):
    since: str | None = Field(None, description="Only events on or after this ISO date (YYYY-MM-DD).")
    until: str | None = Field(None, description="Only events on or before this ISO date (YYYY-MM-DD).")
    limit: int = Field(20, ge=1, le=100, description="Most recent events to return.")
    query: str | None = Field(None, max_length=300,
                              description="What to search for inside the history.")

    @field_validator("since", "until")
    @classmethod
    def _iso(cls, v: str | None) -> str | None:
        if v:
            datetime.fromisoformat(v)
        return v or None


def _to_ts(iso: str | None, end: bool = False) -> int | None:
    if not iso:
        return None
    d = datetime.fromisoformat(iso)
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    ts = int(d.timestamp())
    return ts + 86399 if end and len(iso) <= 10 else ts


def run(ctx: ToolContext, a: Args) -> ToolOutput:
    h = ctx.toolbox.get_user_history(ctx.user_id, since=_to_ts(a.since), until=_to_ts(a.until, end=True),
                                     limit=a.limit, query=a.query)
    overall, *per_event = h.evidence
    shown = per_event if a.query else per_event[::-1]  # search: by similarity; else most recent first
    lines = [overall.text, "Evidence: ev:history (this summary)"]
    lines += [f"- {e.id}: {e.text}" for e in shown[:EVIDENCE_SHOWN]]
    return ToolOutput(summary="\n".join(lines), evidence=h.evidence, titles={e.item_id: e.title for e in h.events},
                      cold_start=not h.known or not h.events)


TOOL = LLMTool(name="get_user_history", args=Args, run=run, pre_run=PreRun(order=0, arguments={"limit": 10}),
               offered_at=2)
