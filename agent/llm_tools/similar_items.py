"""``similar_items``: items like one the person names ("something like Alien"), by text similarity and
co-occurrence in histories, under the session's constraints. Its items may be recommended.

Composed from the toolbox's primitives: ``find_item`` (id, title or closest text), ``get_user_history`` (what
the person has seen) and ``item_neighbours`` (the most alike items, filtered here by the constraints). Each item
cites its ``ev:like:<anchor>:<item>`` record and the anchor's ``ev:item:<id>``.
"""

from __future__ import annotations

import re
import time

from pydantic import Field

from evorec.agent.llm_tool import LLMTool, ToolArgs, ToolContext, ToolOutput
from evorec.agent.tool_summaries import ranked_summary
from evorec.tools.constraints import Constraints
from evorec.tools.item_neighbours import ItemNeighbour, ItemNeighbours
from evorec.tools.recommendation import RankedItem, RankedList
from evorec.tools.wording import wording_for

FIRST_ASK = 4  # neighbours asked for per wanted item (plus the seen ones), doubled while the constraints filter


class Args(ToolArgs):
    item: str = Field(min_length=1, max_length=200, description="The title (or id) of the item the user named.")
    k: int = Field(5, ge=1, le=20, description="How many similar items to return.")


def allowed_neighbours(ctx: ToolContext, anchor_id: str, c: Constraints, seen: set[str]
                       ) -> tuple[ItemNeighbours, list[ItemNeighbour]]:
    """The anchor's neighbours and the first ``c.k`` of them the constraints allow, asking for more while they
    filter too many out and more exist."""
    ask = FIRST_ASK * c.k + (len(seen) if c.exclude_seen else 0)
    while True:
        found = ctx.toolbox.item_neighbours(anchor_id, k=ask)
        kept = [n for n in found.neighbours if c.allows(n.item_id, n.categories, n.year, seen)][:c.k]
        if len(kept) >= c.k or len(found.neighbours) < ask:
            return found, kept
        ask *= 4


def named_in(item: str, said: str) -> bool:
    """Whether the person's words contain the item the model passed: each of its words (articles aside) is
    in what they said. A small model reaches for this tool on "give me 5 picks", passing a title from the
    history; that is not a request for items like it."""
    words = [w for w in re.findall(r"\w+", item.lower()) if w not in {"the", "a", "an"}]
    low = said.lower()
    return bool(words) and all(w in low for w in words)


def run(ctx: ToolContext, a: Args) -> ToolOutput:
    t0 = time.perf_counter()
    if ctx.said is not None and not named_in(a.item, ctx.said):
        # no ranked list: the turn's candidates then come from rank_candidates, as for any request
        return ToolOutput(summary=f"The person did not name {a.item!r}: similar_items is for an item they name. "
                                  "Use rank_candidates for their recommendations.")
    c = ctx.constraints.model_copy(update={
        "k": a.k, "include_categories": [ctx.category(x) for x in ctx.constraints.include_categories],
        "exclude_categories": [ctx.category(x) for x in ctx.constraints.exclude_categories]})
    anchor = ctx.toolbox.find_item(a.item)
    if anchor is None:  # no ranked list: the turn's candidates come from rank_candidates
        return ToolOutput(summary=f"No catalog item matches {a.item!r}.")
    history = ctx.toolbox.get_user_history(ctx.user_id, limit=None)
    found, kept = allowed_neighbours(ctx, anchor.item_id, c, {e.item_id for e in history.events})
    wording = wording_for(ctx.toolbox.dataset_name)
    likes = [found.like_evidence(n, wording) for n in kept]
    items = [RankedItem(rank=r, item_id=n.item_id, title=n.title, categories=n.categories, year=n.year,
                        score=round(n.score or 0.0, 6),
                        sources=[s for s, v in (("similar", n.similarity), ("cooc", n.co_occurrences)) if v > 0],
                        features={"similarity": round(n.similarity, 5), "co_occurrences": n.co_occurrences},
                        evidence_ids=[ev.id, anchor.evidence[0].id], template_rationale=ev.text,
                        template_rationales=found.like_texts(n, wording))
             for r, (n, ev) in enumerate(zip(kept, likes, strict=True), start=1)]
    short = None if len(items) >= c.k else \
        f"only {len(items)} items like {found.anchor.title} satisfy the constraints"
    ranked = RankedList(user_id=ctx.user_id, items=items, evidence=[*found.anchor.evidence, *likes],
                        constraints=c, cold_start=not history.known, shortfall=short,
                        timings_ms={"total": round(1000 * (time.perf_counter() - t0), 3)})
    return ToolOutput(summary=ranked_summary(ranked), evidence=ranked.evidence, ranked=ranked,
                      titles={it.item_id: it.title for it in ranked.items}, cold_start=ranked.cold_start,
                      applied={"effective_constraints": c.model_dump(exclude_defaults=True)})


TOOL = LLMTool(name="similar_items", args=Args, run=run, offered_at=4)
