"""The grounding validator: what the LLM wrote may only say what the tools returned.

Checks, per answer item: the id is in this turn's candidate set (else the item is dropped);
the rationale cites at least one evidence id and every cited id exists; every number, ISO date
and quoted or catalog title in the rationale appears in the cited evidence (or in the item's own
title/year). Free text (message, interest summary) is checked against all of this turn's evidence.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from evorec.tools.constraints import Constraints
from evorec.tools.evidence import Evidence
from evorec.tools.recommendation import RankedItem

# ASCII look-arounds, not \b/\w: in Chinese text a number sits between word characters ("打了5分")
ISO_DATE = re.compile(r"(?<![0-9])\d{4}-\d{2}-\d{2}(?![0-9])")
NUMBER = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:[.,]\d+)*(?:\.\d+)?%?")
QUOTED = re.compile(r"[\"“]([^\"“”]{3,80})[\"”]")  # double quotes only: apostrophes are not quotes
# String caps in the schema: a grammar-enforcing server must close the string, so a small model
# that starts repeating itself cannot run to max_tokens (measured: it did, for minutes).
MESSAGE_CHARS, RATIONALE_CHARS, CITED_PER_ITEM = 60, 72, 1
TITLE_YEAR = re.compile(r"\s*\(\d{4}\)\s*$")


class AnswerItem(BaseModel):
    item_id: str
    rationale: str
    evidence_ids: list[str] = Field(default_factory=list)


class FinalAnswer(BaseModel):
    """The JSON the LLM must return (see :func:`answer_schema`)."""

    message: str = ""
    items: list[AnswerItem] = Field(default_factory=list)
    interest_summary: str = ""


# A Chinese answer's texts open with a Chinese character (or a title's 《 / “): the 0.5B, told in the prompt to
# answer in Chinese, still wrote English 47 times in 47 (issue 13); once started in Chinese it goes on in Chinese.
ZH_OPENING = "[\\u4e00-\\u9fff《“]"
JSON_CHAR = '[^"\\\\\\x00-\\x1f]'
# An English answer's texts hold no CJK or Hangul characters (unless the catalog's own titles do): opened in
# English, the 0.5B still switched mid-text ("You have no历史") in 7 of 66 turns (issue 13).
LATIN_CHAR = '[^"\\\\\\x00-\\x1f\\u3000-\\u9fff\\uac00-\\ud7af\\uff00-\\uffef]'
CJK_TEXT = re.compile("[\u3000-\u9fff\uac00-\ud7af\uff00-\uffef]")


# The message opens as a sentence spoken to the person: asked for "one sentence", the 0.5B and the 1.5B wrote
# a phrase with no main clause ("Based on your past picks and the current forecast.") in 15 and 34 of 49 turns.
# (plain words, no regex characters: they go into the pattern as they are)
MESSAGE_OPENINGS = {"en": ("You ", "Your ", "These ", "This ", "Here "), "zh": ("你", "为你", "这")}


def text_schema(cap: int, lang: str = "en", openings: tuple[str, ...] = (), cjk_ok: bool = True) -> dict[str, Any]:
    """One person-facing string of at most ``cap`` characters, opening in the answer's language, or with one
    of ``openings``; with ``cjk_ok=False`` (an English answer about a catalog with no CJK titles) it holds no
    CJK or Hangul character anywhere."""
    char = JSON_CHAR if cjk_ok or lang == "zh" else LATIN_CHAR
    if openings:  # the rest is capped so that the longest opening plus it fits ``cap``
        rest = cap - max(map(len, openings))
        return {"type": "string", "pattern": f"^({'|'.join(openings)}){char}{{0,{rest}}}$"}
    if lang == "zh":
        return {"type": "string", "pattern": f"^{ZH_OPENING}{char}{{0,{cap - 1}}}$"}
    if not cjk_ok:
        return {"type": "string", "pattern": f"^{char}{{0,{cap}}}$"}
    return {"type": "string", "maxLength": cap}


def answer_schema(candidate_ids: list[str], evidence_ids: list[str], k: int, summary: bool = False,
                  lang: str = "en", cjk_ok: bool = True) -> dict[str, Any]:
    """JSON schema for ``response_format``: item and evidence ids are enums, so a grammar-enforcing
    server cannot even emit an invented id. The validator still checks everything.

    ``summary=False`` leaves the interest summary to the evidence template: every generated token
    costs ~30-50 ms on a CPU model, and the template says the same from the same evidence."""
    item_id: dict[str, Any] = {"type": "string", "enum": candidate_ids} if candidate_ids else {"type": "string"}
    ev_id: dict[str, Any] = {"type": "string", "enum": evidence_ids} if evidence_ids else {"type": "string"}
    n_min = min(k, len(candidate_ids)) if candidate_ids else 0
    props: dict[str, Any] = {  # items first: a small model spends its budget on the part that matters
        "items": {"type": "array", "minItems": n_min, "maxItems": max(k, 1), "items": {
            "type": "object",
            "properties": {"item_id": item_id, "rationale": text_schema(RATIONALE_CHARS, lang, cjk_ok=cjk_ok),
                           "evidence_ids": {"type": "array", "items": ev_id, "minItems": 1,
                                            "maxItems": CITED_PER_ITEM}},
            "required": ["item_id", "rationale", "evidence_ids"], "additionalProperties": False}},
        "message": text_schema(MESSAGE_CHARS, lang, MESSAGE_OPENINGS.get(lang, ()), cjk_ok=cjk_ok),
    }
    if summary:
        props["interest_summary"] = text_schema(MESSAGE_CHARS, lang, cjk_ok=cjk_ok)
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def response_format(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "recommendations", "strict": True, "schema": schema}}


def parse_answer(content: str | None) -> FinalAnswer:
    """Parse the model's JSON (tolerating a fenced block or text around one object); raises ValueError."""
    text = (content or "").strip()
    if not text:
        raise ValueError("empty answer")
    if text.startswith("```"):
        text = re.sub(r"^```(?:json)?\s*|\s*```$", "", text)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("answer is not a JSON object")
    try:
        return FinalAnswer.model_validate_json(text[start:end + 1])
    except ValidationError as e:
        raise ValueError(f"answer does not match the schema: {e.errors()[0]['msg']}") from e


REQUEST_QUOTED = re.compile(r"(?:^|(?<=[\s(]))['\"‘“]([^'\"‘’“”]{2,80}?)['\"’”](?=\W|$)")
CAPITALISED_RUN = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][\w'-]*(?:\s+[A-Z0-9][\w'-]*)*)")


def request_names(request: str) -> list[str]:
    """Names the user brought: quoted phrases, and capitalised words not at a sentence start ("Is
    Titanic a good pick", "Which Star Wars film"). What the answer may say only if a tool returned it."""
    names = [q.strip() for q in REQUEST_QUOTED.findall(request)]
    names += [m.strip("'\"‘’“”") for m in CAPITALISED_RUN.findall(request)
              if m not in ("I", "I'm", "I've", "I'd", "I'll")]
    return [n for n in dict.fromkeys(names) if len(n) >= 3]


def _norm_title(t: str) -> str:
    t = TITLE_YEAR.sub("", t).strip().lower()
    # MovieLens writes "Godfather, The"; people write "The Godfather"
    m = re.match(r"^(.*), (the|a|an)$", t)
    return f"{m.group(2)} {m.group(1)}" if m else t


class Grounder:
    """Facts of one turn: candidates, evidence pool, and the titles the turn has seen."""

    def __init__(self, candidates: dict[str, RankedItem], evidence: dict[str, Evidence],
                 titles: dict[str, str] | None = None, constraints: Constraints | None = None,
                 request: str = "") -> None:
        self.candidates = candidates
        self.evidence = evidence
        self.constraints = constraints
        known = dict(titles or {})
        known.update({i: it.title for i, it in candidates.items()})
        self.title_forms = {f for f in (_norm_title(t) for t in known.values()) if len(f) >= 4}
        self.request_names = request_names(request)

    # ---- facts ------------------------------------------------------------------------------
    @staticmethod
    def _allowed_numbers(evs: list[Evidence], extra_text: str = "", extra_numbers: list[float] | None = None
                         ) -> tuple[list[float], str]:
        values: list[float] = list(extra_numbers or [])
        text_parts = [extra_text]
        for ev in evs:
            values.extend(ev.numbers.values())
            text_parts.append(ev.text)
            for d in ev.dates.values():
                text_parts.append(d)
        text = " ".join(text_parts)
        for tok in NUMBER.findall(text):
            try:
                values.append(float(tok.rstrip("%").replace(",", "")))
            except ValueError:
                continue
        for d in ISO_DATE.findall(text):
            y, m, dd = d.split("-")
            values.extend([float(y), float(m), float(dd)])
        return values, text.lower()

    @staticmethod
    def _number_ok(tok: str, values: list[float]) -> bool:
        raw = tok.rstrip("%").replace(",", "")
        try:
            t = float(raw)
        except ValueError:
            return True
        dec = len(raw.split(".")[1]) if "." in raw else 0
        for v in values:
            for cand in (v, v * 100) if tok.endswith("%") or v <= 1.0 else (v,):
                if abs(round(cand, dec) - t) < 1e-9 or abs(cand - t) < 1e-9:
                    return True
        return False

    def check_text(self, text: str, evs: list[Evidence], own_title: str = "", own_year: int | None = None,
                   any_title: bool = False, extra_numbers: list[float] | None = None) -> list[str]:
        """Problems with ``text`` given the evidence it may use (empty list = grounded).

        ``any_title``: free text may name any item this turn's tools returned, not only the own one."""
        problems: list[str] = []
        extra = ([float(own_year)] if own_year else []) + list(extra_numbers or [])
        values, ev_text = self._allowed_numbers(evs, own_title, extra)
        allowed = set(self.title_forms) if any_title else {_norm_title(own_title)} if own_title else set()
        low = text.lower()
        for d in ISO_DATE.findall(text):
            if d not in ev_text:
                problems.append(f"date {d} is not in the cited evidence")
        scrubbed = ISO_DATE.sub(" ", text)
        for form in self.title_forms:  # titles contain digits too ("2001: A Space Odyssey")
            scrubbed = re.sub(re.escape(form), " ", scrubbed, flags=re.IGNORECASE) if form in low else scrubbed
        for tok in NUMBER.findall(scrubbed):
            if not self._number_ok(tok, values):
                problems.append(f"number {tok} is not in the cited evidence")
        for form in self.title_forms:
            if form not in allowed and form in low and form not in ev_text:
                problems.append(f"title '{form}' is not in the cited evidence")
        for name in self.request_names:  # "recommend 'The Matrix'": echoing a name the user brought is inventing
            n = name.lower()
            if n in low and n not in ev_text and not any(n in f for f in allowed):
                problems.append(f"'{name}' (named in the request) is not in the cited evidence")
        for q in QUOTED.findall(text):
            ql = q.strip().lower()
            if ql and ql not in ev_text and not any(ql in f for f in allowed):
                problems.append(f"quoted '{q.strip()}' is not in the cited evidence")
        return problems

    def check_rationale(self, item: RankedItem, rationale: str, cited: list[str]) -> list[str]:
        if not rationale.strip():
            return ["empty rationale"]
        if not cited:
            return ["cites no evidence id"]
        missing = [e for e in cited if e not in self.evidence]
        if missing:
            return [f"cites unknown evidence {', '.join(missing)}"]
        return self.check_text(rationale, [self.evidence[e] for e in cited], item.title, item.year)

    def recite(self, item: RankedItem, rationale: str, cited: list[str]) -> list[str] | None:
        """Deterministic citation repair: the smallest set of this item's own evidence and the user-level
        evidence (history, forecast mix, trends), starting from the model's citations, under which the
        rationale passes the full check; None when no such set exists (the text itself is wrong) or the
        model cited an id that does not exist.

        A small model often writes a true sentence but cites the neighbouring id; the text is still held
        to exactly the same rule, only against the evidence that says it."""
        if not rationale.strip() or any(e not in self.evidence for e in cited):
            return None  # a made-up id is a made-up answer, not a slip of the finger
        user_level = [e for e in self.evidence if e in ("ev:history", "ev:forecast:mix") or e.startswith("ev:trend:")]
        pool = [e for e in dict.fromkeys([*cited, *item.evidence_ids, *user_level]) if e in self.evidence]
        chosen: list[str] = []
        for e in pool:  # adding evidence only ever removes problems, so the first passing prefix is the cover
            chosen.append(e)
            if not self.check_rationale(item, rationale, chosen):
                break
        else:
            return None
        for e in list(chosen):  # then drop what the check does not need
            rest = [x for x in chosen if x != e]
            if rest and not self.check_rationale(item, rationale, rest):
                chosen = rest
        return chosen

    def check_free_text(self, text: str) -> list[str]:
        """Message / interest summary: any evidence of the turn, any title the tools returned, the
        candidates' years and how many there are."""
        if not text.strip():
            return []
        extra = [float(c.year) for c in self.candidates.values() if c.year] + [float(len(self.candidates))]
        if self.constraints is not None:
            extra += [float(self.constraints.k)] + [float(y) for y in (self.constraints.year_min,
                                                                        self.constraints.year_max) if y]
        return self.check_text(text, list(self.evidence.values()), any_title=True, extra_numbers=extra)


class ItemVerdict(BaseModel):
    item_id: str
    rationale: str
    evidence_ids: list[str]
    problems: list[str] = Field(default_factory=list)
    recited_from: list[str] | None = Field(None, description="The model's citations, when they were corrected.")


class Review(BaseModel):
    """The validator's reading of one answer."""

    items: list[ItemVerdict] = Field(default_factory=list, description="Items in the candidate set, in order.")
    dropped: list[str] = Field(default_factory=list, description="Items removed, each with the reason.")
    message_problems: list[str] = Field(default_factory=list)
    summary_problems: list[str] = Field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (any(v.problems for v in self.items) or self.message_problems or self.summary_problems)

    def repair_notes(self) -> str:
        lines = [f"- dropped {d}" for d in self.dropped]
        lines += [f"- item {v.item_id}: {'; '.join(v.problems)}" for v in self.items if v.problems]
        lines += [f"- message: {'; '.join(self.message_problems)}"] if self.message_problems else []
        lines += [f"- interest_summary: {'; '.join(self.summary_problems)}"] if self.summary_problems else []
        return "\n".join(lines)


def review(answer: FinalAnswer, g: Grounder) -> Review:
    r = Review()
    seen: set[str] = set()
    for it in answer.items:
        iid = str(it.item_id)
        if iid not in g.candidates:
            r.dropped.append(f"{iid}: not in the candidate set (invented)")
            continue
        if iid in seen:
            r.dropped.append(f"{iid}: listed twice")
            continue
        cand = g.candidates[iid]
        if g.constraints is not None and not g.constraints.allows(iid, cand.categories, cand.year, set()):
            r.dropped.append(f"{iid}: violates the stated constraints")
            continue
        seen.add(iid)
        cited = list(dict.fromkeys(str(e) for e in it.evidence_ids))
        v = ItemVerdict(item_id=iid, rationale=it.rationale, evidence_ids=cited,
                        problems=g.check_rationale(cand, it.rationale, cited))
        if v.problems and (fixed := g.recite(cand, it.rationale, cited)) is not None:
            v = v.model_copy(update={"evidence_ids": fixed, "problems": [], "recited_from": cited})
        r.items.append(v)
    r.message_problems = g.check_free_text(answer.message)
    r.summary_problems = g.check_free_text(answer.interest_summary)
    return r
