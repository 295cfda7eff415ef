"""What the model is shown of a tool result: compact text with evidence ids (the full evidence is kept for
the grounding validator)."""

from __future__ import annotations

from evorec.tools.evidence import Evidence
from evorec.tools.recommendation import RankedList
from evorec.tools.store.records import ItemHit

CANDIDATE_EVIDENCE_CHARS = 110
SEARCH_SHOWN = 5


def clip(text: str, n: int = 200) -> str:
    """Shorten at a word boundary (a cut number or date would be copied as a wrong fact)."""
    if len(text) <= n:
        return text
    return text[:n].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def ranked_summary(ranked: RankedList, shown: int = 8, per_item: int = 1) -> str:
    """Compact candidate table for the model: the top ``shown`` items, each with id, title, year,
    categories and its first ``per_item`` evidence ids with their (clipped) text."""
    head = (f"{len(ranked.items)} candidates" + (f", top {shown} shown" if len(ranked.items) > shown else "")
            + " (only these ids may be recommended)"
            + (" [cold start: user has no history]" if ranked.cold_start else "")
            + (f" [shortfall: {ranked.shortfall}]" if ranked.shortfall else "") + ":")
    lines = [head]
    pool = ranked.evidence_by_id()
    for it in ranked.items[:shown]:  # plain sentences: a small model copies from here into its rationale
        about = ", ".join(x for x in (str(it.year or ""), "/".join(it.categories)) if x)
        evs = [(e, pool[e]) for e in it.evidence_ids if e in pool][:per_item]
        why = " ".join(f"{clip(ev.text, CANDIDATE_EVIDENCE_CHARS)} [{e}]" for e, ev in evs) or "(no evidence)"
        lines.append(f"- {it.item_id}: {it.title}{f' ({about})' if about else ''}. {why}")
    return "\n".join(lines)


def with_ids(summary: str, evidence: list[Evidence], shown: int = 6) -> str:
    """A result's own summary followed by its first ``shown`` evidence records."""
    if not evidence:
        return summary
    lines = [summary, "Evidence:"] + [f"- {ev.id}: {clip(ev.text)}" for ev in evidence[:shown]]
    return "\n".join(lines)


def hits_summary(hits: list[ItemHit], query: str | None) -> str:
    head = f"{len(hits)} catalog items for {query!r}:" if query is not None else "Item:"
    lines = [head]
    for h in hits[:SEARCH_SHOWN]:
        cats = "/".join(h.categories)
        lines.append(f"- id={h.item_id} | {h.title}{f', {h.year}' if h.year else ''} | {cats}")
    lines.append("(catalog search results are not candidates; only rank_candidates ids may be recommended)")
    return "\n".join(lines)
