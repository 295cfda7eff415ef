"""Deterministic extraction of stated preferences from a chat message.

"no horror", "something from the 90s", "nothing I've seen", "top 5", "actually, horror is fine"
become :class:`Constraints` without any LLM, over the catalog's own category names, so the
plan-first executor honours them too. Each clause is read on its own: a category after a
negation cue is excluded; otherwise it is included, unless the clause only talks about the past
without a wanting cue ("I watched a lot of horror"), which is history, not a request.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from evorec.tools.constraints import Constraints

NEGATION = re.compile(
    r"\b(no|not|without|avoid|avoiding|hate|hates|dislike|skip|except|nothing|none|never|don'?t|do not|"
    r"no more|stop|exclude|excluding|less|minus|sick of|tired of|enough)\b")
WANT = re.compile(
    r"\b(want|wants|mood|something|some|only|prefer|like|love|show me|give me|looking for|fan of|into|craving|"
    r"recommend|suggest|fine|ok|okay|include|more|please|allowed|back)\b")
NEGATION_REACH = 40  # characters: "no horror or thriller" negates both, "not sure ... comedy" does not
PAST = re.compile(r"\b(watched|was|were|been|lately|used to|have seen|did|liked|loved|rated|history)\b")
CLAUSE_SPLIT = re.compile(r"[.;!?\n]|,|\bbut\b|\bthough\b|\bhowever\b|\band also\b")
RESET = re.compile(r"\b(reset|clear|forget|drop)\b.{0,20}\b(preferences|filters|constraints|everything)\b")
UNSEEN = re.compile(r"\b(nothing|anything|none|no)\b[^.]{0,12}\b(i'?ve|i have|i already)\b[^.]{0,10}\b(seen|watched)\b|"
                    r"\b(haven'?t|have not|never)\s+(seen|watched)\b|\bunseen\b|\bnew to me\b")
RESEEN = re.compile(r"\b(rewatch|re-watch|include (ones|films|movies|items) i'?ve seen|seen ones are fine)\b")
COUNT = re.compile(r"\btop\s+(\d{1,2})\b|\b(\d{1,2})\s+(?:movies|films|items|picks|recommendations|suggestions|"
                   r"titles|things|options|ideas)\b|\b(?:give me|recommend|suggest|show me|pick|list)\s+(\d{1,2})\b")
DECADE = re.compile(r"\b(?:the\s+)?(?:(19|20)(\d)0'?s|'?(\d)0'?s)\b")
DECADE_WORDS = {"twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950, "sixties": 1960,
                "seventies": 1970, "eighties": 1980, "nineties": 1990}
YEAR = r"((?:19|20)\d\d)"
AFTER = re.compile(rf"\b(?:after|since|newer than|later than)\s+{YEAR}\b(?!\s*(?:to|-|and|until)\s*\d)")
BEFORE = re.compile(rf"\b(?:before|older than|earlier than|until|up to|prior to)\s+{YEAR}\b")
BETWEEN = re.compile(rf"\b(?:between|from)\s+{YEAR}\s*(?:and|to|-|until)\s*{YEAR}\b")
IN_YEAR = re.compile(rf"\b(?:in|from|of)\s+{YEAR}\b")

# Common ways of naming a genre, applied only when the catalog has that category.
SYNONYMS: dict[str, list[str]] = {
    "sci-fi": ["science fiction", "science-fiction", "scifi", "sci fi", "space films", "space movies"],
    "children's": ["children", "childrens", "kids", "kid", "family films", "family movies"],
    "children": ["kids", "kid", "childrens"],
    "comedy": ["comedies", "funny", "comedic"],
    "romance": ["romantic", "romances", "romcom", "rom-com", "love stories"],
    "animation": ["animated", "cartoons", "cartoon", "anime"],
    "horror": ["scary", "horror films", "horror movies", "slasher"],
    "documentary": ["documentaries", "docs"],
    "film-noir": ["noir", "film noir"],
    "musical": ["musicals"],
    "thriller": ["thrillers", "suspense"],
    "war": ["war films", "war movies"],
    "western": ["westerns", "cowboy"],
    "crime": ["crime films", "gangster", "heist"],
    "mystery": ["mysteries", "whodunit"],
    "fantasy": ["fantasy films"],
    "adventure": ["adventures"],
    "action": ["action films", "action movies"],
    "drama": ["dramas", "dramatic"],
}


class PreferenceUpdate(BaseModel):
    """What one message says about what the user wants; fields left None were not mentioned."""

    include_categories: list[str] = Field(default_factory=list)
    exclude_categories: list[str] = Field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    exclude_seen: bool | None = None
    k: int | None = None
    reset: bool = False
    notes: list[str] = Field(default_factory=list, description="Human-readable list of what was understood.")

    @property
    def empty(self) -> bool:
        return not (self.include_categories or self.exclude_categories or self.reset or self.k
                    or self.year_min is not None or self.year_max is not None or self.exclude_seen is not None)

    def apply_to(self, prev: Constraints) -> Constraints:
        """Later wins: a category wanted now is no longer excluded, and vice versa; k only when stated."""
        base = Constraints(k=prev.k) if self.reset else prev
        later = Constraints(
            k=self.k or base.k,
            exclude_seen=base.exclude_seen if self.exclude_seen is None else self.exclude_seen,
            include_categories=self.include_categories,
            exclude_categories=self.exclude_categories,
            year_min=self.year_min,
            year_max=self.year_max,
        )
        merged = base.merged_with(later)
        if self.exclude_seen is False:
            merged = merged.model_copy(update={"exclude_seen": False})
        lo, hi = merged.year_min, merged.year_max
        if lo is not None and hi is not None and lo > hi:  # a new year bound contradicts an old one: keep the new
            merged = merged.model_copy(update={"year_min": self.year_min, "year_max": self.year_max})
        return Constraints.model_validate(merged.model_dump())


def _alias_table(categories: list[str]) -> list[tuple[re.Pattern[str], str]]:
    aliases: dict[str, str] = {}
    for cat in categories:
        low = cat.lower()
        forms = {low, low.replace("-", " "), low.replace("'", ""), low + "s", low + "es"}
        if low.endswith("y"):
            forms.add(low[:-1] + "ies")
        forms.update(SYNONYMS.get(low, []))
        for f in forms:
            aliases.setdefault(f, cat)
    # longest alias first so "science fiction" wins over "fiction"-like fragments
    ordered = sorted(aliases.items(), key=lambda kv: -len(kv[0]))
    return [(re.compile(rf"(?<![\w-]){re.escape(a)}(?![\w-])"), c) for a, c in ordered]


def _mentions(clause: str, table: list[tuple[re.Pattern[str], str]]) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for pat, cat in table:
        for m in pat.finditer(clause):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            taken.append((m.start(), m.end()))
            found.append((m.start(), cat))
    return sorted(found)


def parse_preferences(text: str, categories: list[str]) -> PreferenceUpdate:
    """Read hard preferences out of one message (see module doc)."""
    low = text.lower().replace("’", "'")
    upd = PreferenceUpdate()
    if RESET.search(low):
        upd.reset = True
        upd.notes.append("cleared earlier preferences")
    table = _alias_table(categories)
    decisions: dict[str, str] = {}
    for clause in CLAUSE_SPLIT.split(low):
        negations = [m.start() for m in NEGATION.finditer(clause)]
        wants = WANT.search(clause) is not None or PAST.search(clause) is None
        for pos, cat in _mentions(clause, table):
            if any(0 <= pos - n <= NEGATION_REACH for n in negations):
                decisions[cat] = "exclude"
            elif wants:
                decisions[cat] = "include"
    upd.include_categories = [c for c, d in decisions.items() if d == "include"]
    upd.exclude_categories = [c for c, d in decisions.items() if d == "exclude"]
    if upd.include_categories:
        upd.notes.append("wants " + ", ".join(upd.include_categories))
    if upd.exclude_categories:
        upd.notes.append("no " + ", ".join(upd.exclude_categories))
    _parse_years(low, upd)
    if UNSEEN.search(low):
        upd.exclude_seen = True
        upd.notes.append("only unseen items")
    elif RESEEN.search(low):
        upd.exclude_seen = False
        upd.notes.append("seen items allowed")
    m = COUNT.search(low)
    if m:
        k = int(next(g for g in m.groups() if g))
        if 1 <= k <= 100:
            upd.k = k
            upd.notes.append(f"{k} items")
    return upd


def _parse_years(low: str, upd: PreferenceUpdate) -> None:
    if m := BETWEEN.search(low):
        a, b = sorted((int(m.group(1)), int(m.group(2))))
        upd.year_min, upd.year_max = a, b
    elif m := DECADE.search(low):
        if m.group(1):
            start = int(m.group(1)) * 100 + int(m.group(2)) * 10
        else:
            d = int(m.group(3))
            start = (2000 if d < 3 else 1900) + d * 10
        upd.year_min, upd.year_max = start, start + 9
    elif words := [w for w in DECADE_WORDS if re.search(rf"\b{w}\b", low)]:
        start = DECADE_WORDS[words[0]]
        upd.year_min, upd.year_max = start, start + 9
    else:
        after, before = AFTER.search(low), BEFORE.search(low)
        if after:
            upd.year_min = int(after.group(1)) + (1 if re.match(r"\s*(after|newer|later)", after.group(0)) else 0)
        if before:
            upd.year_max = int(before.group(1)) - (0 if re.match(r"\s*(until|up to)", before.group(0)) else 1)
        if not after and not before and (m := IN_YEAR.search(low)):
            upd.year_min = upd.year_max = int(m.group(1))
    if upd.year_min is not None and upd.year_max is not None and upd.year_min > upd.year_max:
        upd.year_min, upd.year_max = upd.year_max, upd.year_min
    if upd.year_min is not None or upd.year_max is not None:
        upd.notes.append(f"years {upd.year_min or '…'}–{upd.year_max or '…'}")
