"""What the model is shown of a tool result: compact text with evidence ids (the full evidence is kept for
the grounding validator)."""

from __future__ import annotations

import re

from evorec.tools.evidence import Evidence
from evorec.tools.recommendation import RankedList
from evorec.tools.store.records import ItemHit

CANDIDATE_EVIDENCE_CHARS = 110
SEARCH_SHOWN = 5


# where a clipped text may end: after a whole list item, clause or sentence
ITEM_BREAK = re.compile(r"[,;.!?](?=\s)|[，；。！？、]")
CLIPPED_KEEPS = 1 / 3
TRAILING_BREAKS = " ,;:，；：、—–-"


def clip(text: str, n: int = 200) -> str:
    """Shorten to whole list items or clauses ("Sci-Fi 30%, Animation 20%."), else at a word boundary, and end
    with a full stop: a small model copies a trailing " …" or a half item into its answer, and a cut number or
    date would be copied as a wrong fact."""
    if len(text) <= n:
        return text
    head = text[:n]
    breaks = [m.start() for m in ITEM_BREAK.finditer(head) if m.start() >= n * CLIPPED_KEEPS]
    cut = drop_open_aside(head[:breaks[-1]] if breaks else head.rsplit(" ", 1)[0]).rstrip(TRAILING_BREAKS)
    return cut + ("。" if re.search(r"[\u4e00-\u9fff]$", cut) else ".")


def drop_open_aside(text: str, keep_at_least: float = 0) -> str:
    """The text without a bracketed aside left open at its end ("Alien (1979, Sci" → "Alien"), unless fewer
    than ``keep_at_least`` characters would be left."""
    if text.count("(") <= text.count(")") and text.count("（") <= text.count("）"):
        return text
    head = text[:max(text.rfind("("), text.rfind("（"))].rstrip(TRAILING_BREAKS)
    return head if len(head) >= keep_at_least else text


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
        # the evidence id leads its text (like the facts' "- ev:...: text"): trailing ids get copied into rationales
        why = " ".join(f"{e}: {clip(ev.text, CANDIDATE_EVIDENCE_CHARS)}" for e, ev in evs) or "(no evidence)"
        lines.append(f"- {it.item_id}: {it.title}{f' ({about})' if about else ''} — {why}")
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
