"""The tools the LLM may call: pydantic argument schemas, descriptions from ``prompts/``, dispatch.

Session scoping is structural: no schema has a user field (``extra="forbid"`` rejects one), and
:class:`BoundToolkit` injects the session's user into every ``Toolbox`` call, so nothing the
model reads or writes can reach another user's data. Outputs given to the model are compact
summaries with evidence ids; the full evidence is kept for the grounding validator.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evorec.agent.preferences import _alias_table
from evorec.errors import EvorecError
from evorec.prompts import load_prompt
from evorec.tools.constraints import Constraints
from evorec.tools.evidence import Evidence
from evorec.tools.recommendation import RankedList

SUMMARY_CHARS = 1800
CANDIDATE_EVIDENCE_CHARS = 110
HISTORY_EVIDENCE_SHOWN = 6
IDENTITY_KEY = re.compile(r"user|uid|account|customer|person|member|profile|owner|who")


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GetUserHistoryArgs(_Args):
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


class ForecastInterestsArgs(_Args):
    horizon: int = Field(10, ge=1, le=50, description="How many future events to forecast the interest mix over.")


class DetectTrendsArgs(_Args):
    pass


class RankCandidatesArgs(_Args):
    k: int = Field(10, ge=1, le=50, description="How many items to rank.")
    include_categories: list[str] = Field(default_factory=list, description="Every item has one of these.")
    exclude_categories: list[str] = Field(default_factory=list, description="No item has any of these.")
    year_min: int | None = Field(None, ge=1800, le=2100)
    year_max: int | None = Field(None, ge=1800, le=2100)


class SearchItemsArgs(_Args):
    query: str = Field(min_length=1, max_length=300, description="What the items are about.")
    k: int = Field(5, ge=1, le=20)


class GetItemArgs(_Args):
    item_id: str = Field(min_length=1, max_length=100)


TOOL_ARGS: dict[str, type[_Args]] = {
    "get_user_history": GetUserHistoryArgs,
    "forecast_interests": ForecastInterestsArgs,
    "detect_trends": DetectTrendsArgs,
    "rank_candidates": RankCandidatesArgs,
    "search_items": SearchItemsArgs,
    "get_item": GetItemArgs,
}


def _compact_schema(node: Any) -> Any:
    """The model's view of a pydantic schema: no titles, no defaults, ``X | None`` as plain ``X`` (an
    omitted field is the None; shorter prompt, simpler grammar). Validation still uses the pydantic model."""
    if isinstance(node, list):
        return [_compact_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _compact_schema(v) for k, v in node.items() if k not in ("title", "default")}
    variants = out.get("anyOf")
    if isinstance(variants, list):
        kept = [v for v in variants if v != {"type": "null"}]
        if len(kept) == 1:
            out.pop("anyOf")
            out = {**kept[0], **out}
    return out


DATE_FIELDS = ("since", "until")
MODEL_MAX_FILTERS = 4
MODEL_CAPS: dict[str, dict[str, int]] = {"query": {"maxLength": 60}, "limit": {"maximum": 20}, "k": {"maximum": 20}}
SEARCH_SHOWN = 5


FILTER_FIELDS = ("include_categories", "exclude_categories", "year_min", "year_max")


def tool_specs(names: list[str] | None = None, categories: list[str] | None = None,
               filters: bool = True) -> list[dict[str, Any]]:
    """OpenAI ``tools`` entries: description from ``prompts/tool_<name>.md``, parameters from the schema.

    ``categories`` (the catalog's) become an enum of the category filters, so a grammar-constrained
    call can only name real categories; dates carry ``format: date``. ``filters=False`` leaves the
    ranking filters out of the model's view (the session's stated preferences are applied anyway;
    measured: the 0.5B default fills every optional filter with arbitrary categories). Deterministic
    for a given input, so the system+tools prompt prefix stays byte-stable (KV-cache reuse)."""
    out = []
    for name in names if names is not None else list(TOOL_ARGS):  # the caller's order: small models favour the first
        model = TOOL_ARGS[name]
        schema = _compact_schema(model.model_json_schema())
        props = schema.get("properties", {})
        if not filters:
            for field in FILTER_FIELDS:
                props.pop(field, None)
        for field in DATE_FIELDS:
            if field in props:
                props[field] = {**props[field], "format": "date"}
        for field in ("include_categories", "exclude_categories"):
            if field in props:
                items = {"type": "string", "enum": list(categories)} if categories else props[field]["items"]
                props[field] = {**props[field], "items": items, "maxItems": MODEL_MAX_FILTERS}
        for field, cap in MODEL_CAPS.items():  # tighter bounds in the model's view: short calls, no runaways
            if field in props:
                props[field] = {**props[field], **cap}
        out.append({"type": "function", "function": {
            "name": name, "description": load_prompt(f"tool_{name}").strip(), "parameters": schema}})
    return out


class ToolOutcome(BaseModel):
    """One executed tool call: what the model sees (summary) and what the validator checks (evidence)."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    issued_by: Literal["llm", "plan"] = "plan"
    ok: bool = True
    valid: bool = Field(True, description="False when the call itself was malformed (unknown tool, bad arguments).")
    error: str | None = None
    summary: str = ""
    evidence: dict[str, Evidence] = Field(default_factory=dict)
    ranked: RankedList | None = None
    titles: dict[str, str] = Field(default_factory=dict, description="item id -> title of every item it mentions")
    cold_start: bool = False
    latency_ms: float = 0.0

    def for_model(self) -> str:
        if not self.ok:
            return f"ERROR: {self.error}"
        return self.summary[:SUMMARY_CHARS]


def _evidence_of(result: Any) -> list[Evidence]:
    ev = getattr(result, "evidence", None)
    if callable(ev):
        ev = ev()
    if isinstance(ev, dict):
        return [e for e in ev.values() if isinstance(e, Evidence)]
    if isinstance(ev, list):
        return [e for e in ev if isinstance(e, Evidence)]
    return []


def _history_evidence(history: Any) -> list[Evidence]:
    """One record per history event, for histories that carry no evidence of their own."""
    out = []
    for e in getattr(history, "events", []) or []:
        eid = str(getattr(e, "event_id", "") or f"{getattr(e, 'item_id', '')}@{getattr(e, 'ts', '')}")
        date = str(getattr(e, "date", "") or "")
        rating = getattr(e, "rating", None)
        cats = ", ".join(getattr(e, "categories", []) or [])
        text = f"Interacted with {getattr(e, 'title', '')} ({cats}) on {date}"
        numbers: dict[str, float] = {}
        if rating is not None and rating == rating:  # not NaN
            text += f", rated {float(rating):g}"
            numbers["rating"] = float(rating)
        out.append(Evidence(id=f"ev:history:{eid}", kind="history", text=text + ".", numbers=numbers,
                            dates={"date": date} if date else {}, item_id=str(getattr(e, "item_id", "")) or None))
    return out


def _category_shares(events: list[Any]) -> dict[str, float]:
    counts: dict[str, int] = {}
    for e in events:
        for c in getattr(e, "categories", []) or []:
            counts[c] = counts.get(c, 0) + 1
    n = len(events)
    return {f"share_{c}": round(k / n, 4) for c, k in counts.items()} if n else {}


def _summary_of(result: Any) -> str:
    fn = getattr(result, "summary", None)
    return str(fn()) if callable(fn) else str(result)


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
    for it in ranked.items[:shown]:  # plain sentences: a small model copies from here into its rationale
        about = ", ".join(x for x in (str(it.year or ""), "/".join(it.categories)) if x)
        evs = [(e, ranked.evidence[e]) for e in it.evidence_ids if e in ranked.evidence][:per_item]
        why = " ".join(f"{clip(ev.text, CANDIDATE_EVIDENCE_CHARS)} [{e}]" for e, ev in evs) or "(no evidence)"
        lines.append(f"- {it.item_id}: {it.title}{f' ({about})' if about else ''}. {why}")
    return "\n".join(lines)


def _to_ts(iso: str | None, end: bool = False) -> int | None:
    if not iso:
        return None
    d = datetime.fromisoformat(iso)
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    ts = int(d.timestamp())
    return ts + 86399 if end and len(iso) <= 10 else ts


class BoundToolkit:
    """The tools of one turn, bound to one user and the session's hard constraints."""

    def __init__(self, toolbox: Any, user_id: str, constraints: Constraints) -> None:
        self.toolbox = toolbox
        self.user_id = str(user_id)
        self.constraints = constraints
        self.categories: list[str] = list(getattr(toolbox, "categories", []) or [])
        self._aliases = _alias_table(self.categories)

    def _category(self, name: str) -> str:
        low = name.strip().lower()
        for pat, cat in self._aliases:
            if pat.fullmatch(low):
                return cat
        raise ValueError(f"unknown category {name!r}; known: {', '.join(self.categories)}")

    def effective_constraints(self, args: RankCandidatesArgs | None = None) -> Constraints:
        """The model may narrow the request, never relax the session's stated preferences."""
        if args is None:
            return self.constraints
        asked = Constraints(k=args.k, include_categories=[self._category(c) for c in args.include_categories],
                            exclude_categories=[self._category(c) for c in args.exclude_categories],
                            year_min=args.year_min, year_max=args.year_max,
                            exclude_seen=self.constraints.exclude_seen)
        merged = asked.merged_with(self.constraints)
        return merged.model_copy(update={"k": max(self.constraints.k, args.k)})

    def call(self, name: str, raw_arguments: str | dict[str, Any], issued_by: Literal["llm", "plan"] = "llm"
             ) -> ToolOutcome:
        """Validate and run one tool call; errors come back as an outcome the model can read, never raise."""
        t0 = time.perf_counter()
        out = ToolOutcome(name=name, issued_by=issued_by)
        try:
            args_dict = json.loads(raw_arguments or "{}") if isinstance(raw_arguments, str) else dict(raw_arguments)
            if not isinstance(args_dict, dict):
                raise ValueError("arguments must be a JSON object")
            out.arguments = args_dict
            model = TOOL_ARGS.get(name)
            if model is None:
                raise ValueError(f"unknown tool {name!r}; tools: {', '.join(TOOL_ARGS)}")
            if any(IDENTITY_KEY.search(k.lower()) for k in args_dict):
                raise ValueError("tools act on this session's user only; there is no user argument")
            args = model.model_validate(args_dict)
            getattr(self, f"_run_{name}")(args, out)
        except (ValueError, ValidationError, json.JSONDecodeError) as e:
            out.ok, out.valid, out.error = False, False, f"invalid arguments for {name}: {_one_line(e)}"
        except EvorecError as e:
            out.ok, out.error = False, f"{name} failed: {e}"
        out.latency_ms = (time.perf_counter() - t0) * 1000
        return out

    # --- the tools -------------------------------------------------------------------------
    def _run_get_user_history(self, a: GetUserHistoryArgs, out: ToolOutcome) -> None:
        h = self.toolbox.get_user_history(self.user_id, since=_to_ts(a.since), until=_to_ts(a.until, end=True),
                                          limit=a.limit, query=a.query)
        events = list(getattr(h, "events", []) or [])
        per_event = _evidence_of(h) or _history_evidence(h)
        summary = _summary_of(h)
        overall = Evidence(id="ev:history", kind="history", text=summary, numbers=_category_shares(events),
                           dates={k: str(getattr(e, "date", "")) for k, e in
                                  (("first", events[0]), ("last", events[-1]))} if events else {})
        out.evidence = {overall.id: overall, **{e.id: e for e in per_event}}
        out.titles = {str(e.item_id): str(e.title) for e in events}
        out.cold_start = not getattr(h, "known", True) or not events
        shown = per_event if a.query else per_event[::-1]  # search: by similarity; else most recent first
        lines = [summary, "Evidence: ev:history (this summary)"]
        lines += [f"- {e.id}: {e.text}" for e in shown[:HISTORY_EVIDENCE_SHOWN]]
        out.summary = "\n".join(lines)

    def _run_forecast_interests(self, a: ForecastInterestsArgs, out: ToolOutcome) -> None:
        f = self.toolbox.forecast_interests(self.user_id, horizon=a.horizon)
        out.evidence = {e.id: e for e in _evidence_of(f)}
        out.titles = {str(i.item_id): str(i.title) for i in getattr(f, "top_items", []) or []
                      if hasattr(i, "item_id") and hasattr(i, "title")}
        out.cold_start = bool(getattr(f, "cold_start", False))
        out.summary = _with_ids(_summary_of(f), out.evidence)

    def _run_detect_trends(self, a: DetectTrendsArgs, out: ToolOutcome) -> None:
        t = self.toolbox.detect_trends(self.user_id)
        out.evidence = {e.id: e for e in _evidence_of(t)}
        out.summary = _with_ids(_summary_of(t), out.evidence)

    def _run_rank_candidates(self, a: RankCandidatesArgs, out: ToolOutcome) -> None:
        c = self.effective_constraints(a)
        ranked: RankedList = self.toolbox.rank_candidates(self.user_id, c)
        out.ranked = ranked
        out.arguments = {**out.arguments, "effective_constraints": c.model_dump(exclude_defaults=True)}
        out.evidence = dict(ranked.evidence)
        out.titles = {it.item_id: it.title for it in ranked.items}
        out.cold_start = ranked.cold_start
        out.summary = ranked_summary(ranked)

    def _run_search_items(self, a: SearchItemsArgs, out: ToolOutcome) -> None:
        hits = self.toolbox.search_items(a.query, k=a.k)
        out.titles = {str(h.item_id): str(h.title) for h in hits}
        out.summary = _hits_summary(hits, a.query)

    def _run_get_item(self, a: GetItemArgs, out: ToolOutcome) -> None:
        hit = self.toolbox.get_item(a.item_id)
        if hit is None:
            out.summary = f"No item with id {a.item_id}."
            return
        out.titles = {str(hit.item_id): str(hit.title)}
        out.summary = _hits_summary([hit], None)


def _with_ids(summary: str, evidence: dict[str, Evidence], shown: int = 6) -> str:
    if not evidence:
        return summary
    lines = [summary, "Evidence:"] + [f"- {eid}: {clip(ev.text)}" for eid, ev in list(evidence.items())[:shown]]
    return "\n".join(lines)


def _hits_summary(hits: list[Any], query: str | None) -> str:
    head = f"{len(hits)} catalog items for {query!r}:" if query is not None else "Item:"
    lines = [head]
    for h in hits[:SEARCH_SHOWN]:
        year = getattr(h, "year", None)
        cats = "/".join(getattr(h, "categories", []) or [])
        lines.append(f"- id={h.item_id} | {h.title}{f', {year}' if year else ''} | {cats}")
    lines.append("(catalog search results are not candidates; only rank_candidates ids may be recommended)")
    return "\n".join(lines)


def _one_line(e: Exception) -> str:
    if isinstance(e, ValidationError):
        return "; ".join(f"{'.'.join(map(str, err['loc'])) or 'args'}: {err['msg']}" for err in e.errors())[:300]
    return str(e).splitlines()[0][:300] if str(e) else type(e).__name__
