"""Running the tool calls of one turn for one user: validation, dispatch, and the model's view of the tools.

Session scoping is structural: no argument model has a user field (``extra="forbid"`` rejects one),
an argument that names an identity is refused, and :class:`UserBoundTools` gives every tool the
session's user, so nothing the model reads or writes can reach another user's data. Outputs given
to the model are compact summaries with evidence ids; the full evidence is kept for the grounding
validator.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from evorec.agent.llm_tool import ToolContext
from evorec.agent.llm_tools import TOOLS
from evorec.errors import EvorecError
from evorec.tools.constraints import Constraints
from evorec.tools.evidence import Evidence, by_id
from evorec.tools.protocol import ToolboxProtocol
from evorec.tools.recommendation import RankedList

SUMMARY_CHARS = 1800
IDENTITY_KEY = re.compile(r"user|uid|account|customer|person|member|profile|owner|who")
DATE_FIELDS = ("since", "until")
MODEL_MAX_FILTERS = 4
MODEL_CAPS: dict[str, dict[str, int]] = {"query": {"maxLength": 60}, "limit": {"maximum": 20}, "k": {"maximum": 20}}
FILTER_FIELDS = ("include_categories", "exclude_categories", "year_min", "year_max")


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


def tool_specs(names: list[str] | tuple[str, ...] | None = None, categories: list[str] | None = None,
               filters: bool = True) -> list[dict[str, Any]]:
    """OpenAI ``tools`` entries: description from ``prompts/tool_<name>.md``, parameters from the schema.

    ``categories`` (the catalog's) become an enum of the category filters, so a grammar-constrained
    call can only name real categories; dates carry ``format: date``. ``filters=False`` leaves the
    ranking filters out of the model's view (the session's stated preferences are applied anyway;
    measured: the 0.5B default fills every optional filter with arbitrary categories). Deterministic
    for a given input, so the system+tools prompt prefix stays byte-stable (KV-cache reuse)."""
    out = []
    for name in names if names is not None else list(TOOLS):  # the caller's order: small models favour the first
        tool = TOOLS[name]
        schema = _compact_schema(tool.args.model_json_schema())
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
            "name": name, "description": tool.description, "parameters": schema}})
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


class UserBoundTools:
    """The tools of one turn, bound to one user and the session's hard constraints."""

    def __init__(self, toolbox: ToolboxProtocol, user_id: str, constraints: Constraints,
                 said: str | None = None) -> None:
        self.context = ToolContext(toolbox, str(user_id), constraints, said)

    @property
    def user_id(self) -> str:
        return self.context.user_id

    @property
    def constraints(self) -> Constraints:
        return self.context.constraints

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
            tool = TOOLS.get(name)
            if tool is None:
                raise ValueError(f"unknown tool {name!r}; tools: {', '.join(TOOLS)}")
            if any(IDENTITY_KEY.search(k.lower()) for k in args_dict):
                raise ValueError("tools act on this session's user only; there is no user argument")
            result = tool.run(self.context, tool.args.model_validate(args_dict))
            out.summary, out.evidence, out.titles = result.summary, by_id(result.evidence), result.titles
            out.cold_start, out.ranked = result.cold_start, result.ranked
            if result.applied:
                out.arguments = {**out.arguments, **result.applied}
        except (ValueError, ValidationError, json.JSONDecodeError) as e:
            out.ok, out.valid, out.error = False, False, f"invalid arguments for {name}: {_one_line(e)}"
        except EvorecError as e:
            out.ok, out.error = False, f"{name} failed: {e}"
        out.latency_ms = (time.perf_counter() - t0) * 1000
        return out


def _one_line(e: Exception) -> str:
    if isinstance(e, ValidationError):
        return "; ".join(f"{'.'.join(map(str, err['loc'])) or 'args'}: {err['msg']}" for err in e.errors())[:300]
    return str(e).splitlines()[0][:300] if str(e) else type(e).__name__
