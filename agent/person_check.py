"""Is an answer written for the person who asked? A deterministic reader's check of every text shown.

Failure kinds (one text can have several):
- ``internal_token``: user ids, evidence ids, item ids, scores, ranks ("#16 among unseen items"),
  model or pipeline words (ets_ann, forecaster, fused score, cold start, events);
- ``third_person``: talk about "the user" instead of "you";
- ``tautology``: sentences that say nothing ("You have not seen any of the films you have not watched",
  "You have watched 10 of 403 events", "recommended because it is recommended");
- ``incomplete``: empty, cut off, or not ending a sentence;
- ``too_long``: over the cap for its place;
- ``language``: not in the request's language (titles aside).

The agent eval runs it on every answer (LLM-written and template); the agent runs it on LLM texts and
replaces a failing one with its template, like an ungrounded one.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

from evorec.agent.person_text import CJK, detect_language
from evorec.tools.wording import Lang

Kind = Literal["internal_token", "third_person", "tautology", "incomplete", "too_long", "language"]
KINDS: tuple[Kind, ...] = ("internal_token", "third_person", "tautology", "incomplete", "too_long", "language")
CAPS = {"message": 320, "rationale": 320, "summary": 700}

INTERNAL = re.compile(
    r"\bev:|\[ev\b|(?<![a-z])(?:scores?d?|logits?|similarity\s+\d|sim\s+\d|ets_\w+|sarimax\w*|ewma\w*|fused|fusion|"
    r"forecaster|cold[ -]start|candidate(?: set| ids?)?|evidence|item[ _]?ids?|user[ _]?ids?|events?|"
    r"trend model|among (?:unseen|all|the) (?:items|films|products)|rank(?:ed|s)?\s*#?\d+|#\d+)(?![a-z])|"
    r"得分|分数|排名第|证据|候选", re.IGNORECASE)
USER_TOKEN = re.compile(r"(?<![a-z])user\s*#?\s*[a-z]*\d+|用户\s*[a-z]*\d+", re.IGNORECASE)
THIRD_PERSON = re.compile(r"(?<![a-z])(?:the|this|that) (?:user|person|customer|viewer)(?![a-z])|"
                          r"(?<![a-z])user'?s(?![a-z])|该用户|这位用户|此用户|用户的", re.IGNORECASE)
TAUTOLOGY = re.compile(
    r"not (?:seen|watched|bought|picked) any of the \w+ (?:that )?you have not|"
    r"you have (?:watched|seen|rated|bought|picked) \d+ of (?:your )?\d+|"
    r"recommended (?:for you )?because (?:it is|it's) recommended|you have recommended|"
    r"(?:here are|these are) (?:the )?(?:recommendations|recommended items) (?:recommended )?for you\.?$|"
    r"(?:it|this) (?:is|was) (?:a )?(?:good )?(?:pick|choice|recommendation) (?:for you )?because it (?:is|was) "
    r"(?:a )?(?:good )?(?:pick|choice|recommendation)|推荐给你的推荐|你没看过的你没看过",
    re.IGNORECASE)
# a phrase with no main clause: "Based on your past picks and the current forecast."
FRAGMENT = re.compile(r"^(?:based on|according to|given|in line with)\b[^,;:]*$|^(?:根据|基于)[^，；：,;:]*$",
                      re.IGNORECASE)
END = re.compile(r"[.!?。！？…)）\"”』」]$")


class PersonIssue(BaseModel):
    kind: Kind
    where: str
    detail: str
    text: str | None = None  # the failing text, where it was the LLM's (kept so that failures can be read)


def _strip_titles(text: str, titles: list[str]) -> str:
    for t in sorted({t for t in titles if t}, key=len, reverse=True):
        text = text.replace(t, " ")
    return text


def check_text(text: str, where: str, lang: Lang, titles: list[str] | None = None, ids: list[str] | None = None,
               cap: int | None = None) -> list[PersonIssue]:
    """Problems with one text shown to the person (``where``: message / summary / rationale:<item>)."""
    out: list[PersonIssue] = []
    raw = (text or "").strip()
    place = where.split(":", 1)[0]
    if not raw:
        return [PersonIssue(kind="incomplete", where=where, detail="empty")]
    body = _strip_titles(raw, list(titles or []))
    for m in INTERNAL.finditer(body):
        out.append(PersonIssue(kind="internal_token", where=where, detail=m.group(0)))
    for m in USER_TOKEN.finditer(body):
        out.append(PersonIssue(kind="internal_token", where=where, detail=m.group(0)))
    for i in ids or []:
        if len(i) >= 2 and re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", body) and not i.isdigit():
            out.append(PersonIssue(kind="internal_token", where=where, detail=i))
    if third := THIRD_PERSON.search(body):
        out.append(PersonIssue(kind="third_person", where=where, detail=third.group(0)))
    if empty := TAUTOLOGY.search(body):
        out.append(PersonIssue(kind="tautology", where=where, detail=empty.group(0)))
    if raw.endswith(("...", " …")) or not END.search(raw):
        out.append(PersonIssue(kind="incomplete", where=where, detail=raw[-20:]))
    elif FRAGMENT.match(raw):
        out.append(PersonIssue(kind="incomplete", where=where, detail="no main clause"))
    elif raw.count("(") != raw.count(")") or raw.count("（") != raw.count("）"):
        out.append(PersonIssue(kind="incomplete", where=where, detail="unbalanced brackets"))
    limit = cap or CAPS.get(place, 320)
    if len(raw) > limit:
        out.append(PersonIssue(kind="too_long", where=where, detail=f"{len(raw)} > {limit} characters"))
    cjk = len(CJK.findall(body))
    latin = len(re.findall(r"[A-Za-z]{2,}", body))
    if lang == "zh" and cjk < max(2, latin):
        out.append(PersonIssue(kind="language", where=where, detail="not Chinese"))
    if lang == "en" and cjk > 0:
        out.append(PersonIssue(kind="language", where=where, detail="Chinese in an English answer"))
    return out


def check_answer(rec: object, request: str, item_ids: list[str] | None = None,
                 titles: list[str] | None = None) -> list[PersonIssue]:
    """Every text of a ``Recommendations``: message, interest summary, each rationale."""
    lang = detect_language(request)
    shown = [str(getattr(i, "title", "")) for i in getattr(rec, "items", [])] + list(titles or [])
    ids = list(item_ids or []) + [str(getattr(i, "item_id", "")) for i in getattr(rec, "items", [])]
    uid = str(getattr(rec, "user_id", "") or "")
    ids += [uid] if uid and not uid.isdigit() else []
    out = check_text(getattr(rec, "message", "") or "", "message", lang, shown, ids)
    summary = getattr(rec, "interest_summary", None)
    if summary:
        out += check_text(summary, "summary", lang, shown, ids)
    for it in getattr(rec, "items", []):
        out += check_text(it.rationale.text, f"rationale:{it.item_id}", lang, shown, ids)
    return out
