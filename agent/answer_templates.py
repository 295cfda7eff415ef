"""The texts a turn writes without the LLM: evidence-built rationales, the interest summary, the answer's
message, the pre-run facts the answer call is shown, and the constraints in a line (person-facing wording in
:mod:`evorec.agent.person_text`)."""

from __future__ import annotations

import re

from evorec.agent.person_text import template_message as person_message
from evorec.agent.person_text import template_rationale as person_rationale
from evorec.agent.person_text import template_summary as person_summary
from evorec.agent.recommendations import Rationale, RecommendedItem
from evorec.agent.tool_summaries import clip, drop_open_aside
from evorec.agent.turn_trace import TurnTrace
from evorec.tools.constraints import Constraints
from evorec.tools.evidence import Evidence
from evorec.tools.recommendation import RankedItem, RankedList
from evorec.tools.wording import GENERIC, CatalogWording, Lang

DEFAULT_QUESTION = "What should I watch next, and why?"
DEFAULT_QUESTIONS = {"en": "What would you recommend for me next, and why?", "zh": "接下来推荐我什么？为什么？"}
LANGUAGE_NAMES = {"en": "English", "zh": "Simplified Chinese (简体中文)"}
TERMINAL = ".!?。！？…)）\"”"
# Where a cut text may end: a sentence's end, or a clause break (the keeper must be a main clause: not one
# opened by "because", "if", ... which needs the clause that was cut) keeping at least MIN_KEPT of the text.
SENTENCE_END = re.compile(r"[.!?](?=\s)|[。！？]")
CLAUSE_BREAK = re.compile(r"\s*(?:[,;:，；：、]|\s[–—-]\s)")
SUBORDINATE_OPENING = re.compile(r"(?:because|since|as|if|when|while|although|though|unless|after|before|"
                                 r"so that|given)\b|因为|如果|虽然|由于|当", re.IGNORECASE)
MIN_KEPT = 0.3
# characters per pre-run fact and trends shown in the answer call's facts (prompt evaluation dominates on a CPU)
FACT_CHARS, TRENDS_SHOWN = 120, 1


# an evidence id the model copied into its text, with its brackets or trailing colon ("[ev:trend:Sci-Fi]",
# "ev:trending:i0129: Popular lately"); the citation itself is kept in the structured evidence_ids field
COPIED_CITATION = re.compile(r"\s*[\[(（]?\bev:[\w|.\-]*(?::[\w|.\-]+)*[\])）]?\s*:?", re.IGNORECASE)


# a bare label the model appends after its sentence, copying the layout it was shown: "... yet. Evidence."
LABEL_TAIL = re.compile(r"\s*(?<![\w-])(?:evidence|sources?|证据)\s*[:：]?\s*[.。]?\s*$", re.IGNORECASE)


def drop_copied_citations(text: str) -> str:
    """The text without evidence ids copied into it (they stay in ``evidence_ids``, where they belong), nor a
    bare "Evidence." label left at its end."""
    out = COPIED_CITATION.sub(" ", text)
    out = re.sub(r"\s+([,.;:!?，。；：！？])", r"\1", re.sub(r"\s{2,}", " ", out)).strip(" ,;:，；：")
    out = LABEL_TAIL.sub("", out).strip(" ,;:，；：")
    return out[:1].upper() + out[1:] if out else out


def tidy_llm_text(text: str, cap: int, lang: Lang) -> str:
    """The deterministic tidying an LLM text gets before the person check: copied ids and a bare trailing label
    dropped, the sentence finished; once more if finishing exposed a label ("... yet. Evidence (see" ends as
    "... yet. Evidence." after its open aside is cut)."""
    out = finish_sentence(drop_copied_citations(text), cap, lang)
    again = drop_copied_citations(out)
    return out if again == out else finish_sentence(again, cap, lang)


def finish_sentence(text: str, cap: int, lang: Lang) -> str:
    """End a sentence the model left without a full stop. A text that stopped at its length cap was cut
    mid-thought: keep its last whole sentence, else its first clauses up to the last clause break that
    leaves a main clause ("Alien fits your taste for sci-fi, and people who" → "Alien fits your taste for
    sci-fi."); with neither it stays cut, and the person check calls it incomplete."""
    t = drop_open_aside(text.strip(), MIN_KEPT * len(text.strip()))
    if not t or t[-1] in TERMINAL:
        return t
    stop = "。" if lang == "zh" else "."
    if len(t) < cap - 1:
        return t + stop
    ends = [m.end() for m in SENTENCE_END.finditer(t)]
    if ends and ends[-1] >= MIN_KEPT * len(t):
        return t[:ends[-1]].strip()
    for m in reversed(list(CLAUSE_BREAK.finditer(t))):
        head = t[:m.start()].rstrip()
        words = len(head) // 2 if lang == "zh" else len(head.split())
        if len(head) >= MIN_KEPT * len(t) and words >= 4 and not SUBORDINATE_OPENING.match(head):
            return head + stop
    return t


def pre_run_facts(trace: TurnTrace) -> str:
    """The pre-run tools' findings for the answer call, one clipped line per evidence id: the history
    summary, the forecast mix, and the trends that move first (stable ones only if nothing moves)."""
    lines = []
    for eid in ("ev:history", "ev:forecast:mix"):
        ev = trace.evidence.get(eid)
        if ev is not None:
            lines.append(f"- {eid}: {clip(ev.text, FACT_CHARS)}")
    order = {"emerging": 0, "rising": 1, "fading": 2, "dormant": 3}
    trends = [e for e in trace.evidence.values() if e.kind == "trend" and e.id.startswith("ev:trend:")]
    trends.sort(key=lambda e: min((v for k, v in order.items() if k in e.text.lower()), default=9))
    lines += [f"- {e.id}: {clip(e.text, FACT_CHARS)}" for e in trends[:TRENDS_SHOWN]]
    return "\n".join(lines) or "- none (no history, forecast or trends for this user)"


def _evidence_for(ranked: RankedList, ids: list[str]) -> list[Evidence]:
    pool = ranked.evidence_by_id()
    return [pool[e] for e in ids if e in pool]


def recommended_item(rank: int, it: RankedItem, ranked: RankedList, rationale: Rationale) -> RecommendedItem:
    """A ranked item as the answer shows it, with its rationale and every evidence record either cites."""
    ids = list(dict.fromkeys([*rationale.evidence_ids, *it.evidence_ids]))
    return RecommendedItem(rank=rank, item_id=it.item_id, title=it.title, categories=it.categories, year=it.year,
                           score=it.score, sources=it.sources, rationale=rationale,
                           evidence=_evidence_for(ranked, ids))


def template_rationale(it: RankedItem, ranked: RankedList, lang: Lang = "en") -> Rationale:
    """The item's evidence-built rationale, in the request's language (``tools/ranking/explain.py``)."""
    return Rationale(text=person_rationale(it, ranked.evidence_by_id(), lang), evidence_ids=list(it.evidence_ids),
                     source="template")


def template_item(rank: int, it: RankedItem, ranked: RankedList, lang: Lang = "en") -> RecommendedItem:
    return recommended_item(rank, it, ranked, template_rationale(it, ranked, lang))


def template_summary(trace: TurnTrace, wording: CatalogWording = GENERIC) -> str:
    """Where the person's interests are heading: the forecast mix and the trends that move most."""
    return person_summary(trace.evidence, trace.lang, wording)


def describe_constraints(c: Constraints) -> str:
    """The constraints in one line, for the model and the terminal (``k=5, no Horror, unseen only``)."""
    bits = []
    if c.include_categories:
        bits.append("only " + "/".join(c.include_categories))
    if c.exclude_categories:
        bits.append("no " + "/".join(c.exclude_categories))
    if c.year_min is not None or c.year_max is not None:
        bits.append(f"years {c.year_min if c.year_min is not None else '…'}–"
                    f"{c.year_max if c.year_max is not None else '…'}")
    if c.exclude_seen:
        bits.append("unseen only")
    if c.exclude_items:
        bits.append(f"{len(c.exclude_items)} items blocked")
    bits.append(f"k={c.k}")
    return ", ".join(bits)


def template_message(items: list[RecommendedItem], c: Constraints, ranked: RankedList, lang: Lang = "en",
                     wording: CatalogWording = GENERIC) -> str:
    """One sentence answering with the picks, in the person's language and the catalog's words."""
    return person_message([i.title for i in items], c, ranked.cold_start, lang, wording)
