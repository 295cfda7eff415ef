"""Requests about another person's data, recognised without the LLM.

The tools cannot reach another user (every call is bound to the session's user), but a model asked
"list every film user 13 watched" accepts the premise and mislabels this user's films as theirs. So the
turn answers such a request with a fixed refusal that repeats nothing of the other person, and the LLM
only sees what the message asks about the person themself (or the default question).
"""

from __future__ import annotations

import re

ID = r"#?\s*([A-Za-z]*\d[\w-]*)"
EXPLICIT = re.compile(rf"(?<![a-z])(?:user|uid|user[_ ]?id|account|customer|member|profile)\s*(?:id\s*)?"
                      rf"(?:=|:|no\.?)?\s*{ID}|用户\s*(?:id|ID|编号)?\s*{ID}|{ID}\s*号用户", re.IGNORECASE)
GENERIC = re.compile(
    r"(?<![a-z])(?:other users?|another user|different user|all users|every user|someone else'?s?|somebody else'?s?|"
    r"other (?:people|persons|customers|members)'s?\s+(?:history|histories|ratings?|profiles?|data|lists?|"
    r"watch(?:ed|list)?|purchases?|accounts?)|my (?:friend|wife|husband|partner|neighbou?r|colleague|boss|mum|mom|"
    r"dad|sister|brother)'s (?:history|ratings?|profile|account|data|watch\w*))(?![a-z])|"
    r"别人的|其他用户|其它用户|另一个用户|另一位用户|别的用户|所有用户|其他人的(?:记录|历史|评分|数据|账号)",
    re.IGNORECASE)
SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]?")
CLAUSE = re.compile(r"[^,，;；]+[,，;；.!?。！？]?")


def _same_user(mentioned: str, own: str) -> bool:
    a, b = mentioned.strip().lower(), str(own).strip().lower()
    if a == b:
        return True
    da, db = re.sub(r"\D", "", a), re.sub(r"\D", "", b)  # "u0013" and "13" name the same numbered user
    return bool(da) and bool(db) and int(da) == int(db) and (a.isdigit() or b.isdigit())


def mentions_other_user(text: str, own_user: str) -> bool:
    """True when ``text`` asks about somebody other than the session's own user."""
    if GENERIC.search(text):
        return True
    for m in EXPLICIT.finditer(text):
        mentioned = next((g for g in m.groups() if g), "")
        if mentioned and not _same_user(mentioned, own_user):
            return True
    return False


def own_part(message: str, own_user: str) -> str:
    """The sentences (or, in a sentence that names someone else, the clauses) of ``message`` that are not
    about anyone else ("" when none is left)."""
    kept: list[str] = []
    for sentence in (s.strip() for s in SENTENCE.findall(message)):
        if not sentence or not mentions_other_user(sentence, own_user):
            kept += [sentence] if sentence else []
            continue
        kept += [c.strip() for c in CLAUSE.findall(sentence) if c.strip(" ,，;；") and not mentions_other_user(
            c, own_user) and len(c.strip(" ,，;；.!?。！？")) > 2]
    return " ".join(k.strip(" ,，;；") for k in kept).strip()
