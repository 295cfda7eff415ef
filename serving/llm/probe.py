"""Probe any OpenAI-compatible endpoint for what the agent needs: tool calls, tool round trips,
JSON-schema answers, and speed. Used by ``evorec llm check`` and ``benchmarks/bench_llm.py``.

The five probe prompts are recommender questions each best answered by one tool; the tool
set mirrors the agent's (history, forecast, trends, rank, search).
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from pydantic import BaseModel, Field, ValidationError

PROBE_SYSTEM = (
    "You are evorec, a movie recommender assistant. You answer questions about one user's tastes using tools. "
    "When a question needs data, call exactly one tool. Never invent movies: only use titles and ids from tool results."
)


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


_USER = {"type": "integer", "description": "The user's id."}
PROBE_TOOLS: list[dict[str, Any]] = [
    _tool("get_user_history", "List what the user watched and rated recently, optionally filtered by a search query.",
          {"user_id": _USER, "limit": {"type": "integer", "description": "How many events."},
           "query": {"type": "string", "description": "Semantic filter, e.g. 'space films'."}}, ["user_id"]),
    _tool("forecast_interests", "Forecast how the user's interest in each genre will change over the coming weeks.",
          {"user_id": _USER, "horizon": {"type": "integer", "description": "Number of future interactions."}},
          ["user_id"]),
    _tool("detect_trends", "Detect which genres the user is getting into (rising) or losing interest in (fading).",
          {"user_id": _USER}, ["user_id"]),
    _tool("rank_candidates", "Rank movies to recommend to the user now, honouring constraints.",
          {"user_id": _USER, "k": {"type": "integer", "description": "How many items."},
           "avoid_genres": {"type": "array", "items": {"type": "string"}, "description": "Genres to exclude."}},
          ["user_id"]),
    _tool("search_items", "Search the movie catalog by a free-text description.",
          {"text": {"type": "string", "description": "What to look for."},
           "k": {"type": "integer", "description": "How many results."}}, ["text"]),
]  # fmt: skip


class ProbePrompt(BaseModel):
    question: str
    expected_tool: str


PROBE_PROMPTS: list[ProbePrompt] = [
    ProbePrompt(question="What has user 42 been watching lately?", expected_tool="get_user_history"),
    ProbePrompt(question="How will user 42's taste in genres change over the next few weeks?",
                expected_tool="forecast_interests"),
    ProbePrompt(question="Which genres is user 42 getting into, and which is he losing interest in?",
                expected_tool="detect_trends"),
    ProbePrompt(question="Recommend 5 movies for user 42 to watch tonight, but no horror.",
                expected_tool="rank_candidates"),
    ProbePrompt(question="Find movies about a space adventure with robots.", expected_tool="search_items"),
]  # fmt: skip

# A tool result for the round trip: the final answer must pick ids from here only.
RANK_RESULT = {
    "candidates": [
        {"item_id": 50, "title": "Star Wars (1977)", "score": 0.91, "evidence": ["ev:forecast:mix", "ev:trend:Sci-Fi"]},
        {"item_id": 181, "title": "Return of the Jedi (1983)", "score": 0.84, "evidence": ["ev:trend:Sci-Fi"]},
        {"item_id": 172, "title": "Empire Strikes Back, The (1980)", "score": 0.80, "evidence": ["ev:forecast:mix"]},
    ],
    "evidence": {
        "ev:forecast:mix": "Sci-Fi share forecast to rise from 18% to 31% over the next 10 interactions.",
        "ev:trend:Sci-Fi": "Sci-Fi interest rising: slope +0.04/week, 12 of the last 30 ratings.",
    },
}
RANK_CANDIDATES: list[dict[str, Any]] = RANK_RESULT["candidates"]  # type: ignore[assignment]


class ProbeItem(BaseModel):
    item_id: int
    rationale: str = Field(max_length=300)
    evidence_ids: list[str] = Field(min_length=1, max_length=3)


class ProbeAnswer(BaseModel):
    """Bounded like the agent's answer schema: small models loop on unbounded arrays/strings."""

    items: list[ProbeItem] = Field(min_length=1, max_length=5)
    summary: str = Field(max_length=400)


class ToolCallProbe(BaseModel):
    question: str
    expected_tool: str
    called: str | None = None
    arguments: dict[str, Any] | None = None
    well_formed: bool = False
    right_tool: bool = False
    latency_s: float = 0.0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None


class ProbeReport(BaseModel):
    base_url: str
    model: str
    reachable: bool = False
    served_models: list[str] = Field(default_factory=list)
    tool_calls: list[ToolCallProbe] = Field(default_factory=list)
    well_formed_rate: float = 0.0
    right_tool_rate: float = 0.0
    call_latency_p50_s: float | None = None
    round_trip_ok: bool = False
    round_trip_latency_s: float | None = None
    round_trip_detail: str = ""
    json_schema_ok: bool = False
    ttft_s: float | None = None
    prompt_tokens_per_s: float | None = None
    generation_tokens_per_s: float | None = None
    errors: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reachable and self.well_formed_rate > 0 and self.round_trip_ok and self.json_schema_ok


def _usage(resp: Any) -> tuple[int, int, int]:
    return _usage_of(getattr(resp, "usage", None))


def _usage_of(u: Any) -> tuple[int, int, int]:
    """(prompt, cached prompt, completion) tokens from an OpenAI usage object (zeros when absent)."""
    if u is None:
        return 0, 0, 0
    details = getattr(u, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", 0) if details is not None else 0
    return u.prompt_tokens or 0, cached or 0, u.completion_tokens or 0


def probe_tool_call(client: Any, model: str, prompt: ProbePrompt, max_tokens: int = 128) -> ToolCallProbe:
    out = ToolCallProbe(question=prompt.question, expected_tool=prompt.expected_tool)
    t0 = time.perf_counter()
    try:
        resp = client.chat.completions.create(
            model=model,
            messages=[{"role": "system", "content": PROBE_SYSTEM}, {"role": "user", "content": prompt.question}],
            tools=PROBE_TOOLS, tool_choice="auto", temperature=0.0, max_tokens=max_tokens,
        )  # fmt: skip
    except Exception as e:  # any transport/protocol failure is a probe finding, not a crash
        out.error = f"{type(e).__name__}: {e}"[:300]
        return out
    out.latency_s = time.perf_counter() - t0
    out.prompt_tokens, out.cached_tokens, out.completion_tokens = _usage(resp)
    calls = resp.choices[0].message.tool_calls or []
    if calls:
        fn = calls[0].function
        out.called = fn.name
        try:
            args = json.loads(fn.arguments or "{}")
            out.arguments = args if isinstance(args, dict) else None
        except json.JSONDecodeError:
            out.arguments = None
        offered = {t["function"]["name"] for t in PROBE_TOOLS}
        out.well_formed = out.arguments is not None and fn.name in offered
        out.right_tool = out.well_formed and fn.name == prompt.expected_tool
    return out


def _answer_format() -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "answer", "schema": ProbeAnswer.model_json_schema()}}


def probe_round_trip(client: Any, model: str) -> tuple[bool, float, str]:
    """Tool call -> tool result -> JSON-schema final answer that must use only the tool's item ids."""
    question = "Recommend 3 movies for user 42 to watch tonight, but no horror."
    msgs: list[dict[str, Any]] = [{"role": "system", "content": PROBE_SYSTEM}, {"role": "user", "content": question}]
    t0 = time.perf_counter()
    first = client.chat.completions.create(
        model=model, messages=msgs, tools=PROBE_TOOLS, tool_choice="required", temperature=0.0, max_tokens=128
    )
    calls = first.choices[0].message.tool_calls or []
    if not calls:
        return False, time.perf_counter() - t0, "no tool call with tool_choice=required"
    call = calls[0]
    msgs.append(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": call.function.arguments},
                }
            ],
        }
    )
    msgs.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(RANK_RESULT)})
    msgs.append(
        {
            "role": "user",
            "content": "Answer now as JSON: the items you recommend (ids from the tool "
            "result only), a one-sentence rationale each citing evidence ids, and a summary.",
        }
    )
    final = client.chat.completions.create(
        model=model,
        messages=msgs,
        tools=PROBE_TOOLS,
        tool_choice="none",
        response_format=_answer_format(),
        temperature=0.0,
        max_tokens=400,
    )
    elapsed = time.perf_counter() - t0
    text = final.choices[0].message.content or ""
    try:
        answer = ProbeAnswer.model_validate_json(text)
    except ValidationError as e:
        return False, elapsed, f"final answer not valid JSON for the schema: {str(e).splitlines()[0]}"
    allowed = {c["item_id"] for c in RANK_CANDIDATES}
    invented = [it.item_id for it in answer.items if it.item_id not in allowed]
    if invented:
        return False, elapsed, f"called {call.function.name}; answer invented item ids {invented}"
    return True, elapsed, f"called {call.function.name}; answer used ids {[it.item_id for it in answer.items]}"


def probe_json_schema(client: Any, model: str) -> tuple[bool, str]:
    resp = client.chat.completions.create(
        model=model,
        messages=[{"role": "system", "content": PROBE_SYSTEM},
                  {"role": "user", "content": "Give one recommendation for item 50 with evidence ev:trend:Sci-Fi, "
                   "as JSON."}],
        response_format=_answer_format(), temperature=0.0, max_tokens=200,
    )  # fmt: skip
    text = resp.choices[0].message.content or ""
    try:
        ProbeAnswer.model_validate_json(text)
    except ValidationError as e:
        return False, str(e).splitlines()[0]
    return True, "valid"


def probe_speed(client: Any, model: str, max_tokens: int = 64) -> tuple[float, float | None, float | None]:
    """Streamed call: (time to first token, prompt tokens/s over uncached tokens, generation tokens/s)."""
    t0 = time.perf_counter()
    first: float | None = None
    n_chunks = 0
    usage = None
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": f"In about 50 words, why do tastes in movies change? ({time.time()})"}],
        temperature=0.0, max_tokens=max_tokens, stream=True, stream_options={"include_usage": True},
    )  # fmt: skip
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            if first is None:
                first = time.perf_counter()
            n_chunks += 1
        if getattr(chunk, "usage", None):
            usage = chunk.usage
    end = time.perf_counter()
    ttft = (first or end) - t0
    gen_tokens = (usage.completion_tokens if usage else n_chunks) or n_chunks
    gen_tps = (gen_tokens - 1) / (end - first) if first and end > first and gen_tokens > 1 else None
    prompt_tps = None
    if usage is not None:
        prompt, cached, _ = _usage_of(usage)
        uncached = max(prompt - cached, 0)
        prompt_tps = uncached / ttft if ttft > 0 and uncached else None
    return ttft, prompt_tps, gen_tps


def probe_endpoint(
    base_url: str,
    model: str,
    api_key: str = "not-needed",
    timeout_s: float = 180.0,
    prompts: list[ProbePrompt] | None = None,
) -> ProbeReport:
    """Run every probe; failures are recorded in the report, never raised."""
    from openai import OpenAI

    report = ProbeReport(base_url=base_url, model=model)
    client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)
    try:
        report.served_models = [m.id for m in client.models.list().data]
        report.reachable = True
    except Exception as e:
        report.errors.append(f"models: {type(e).__name__}: {e}"[:300])
        return report
    for p in prompts or PROBE_PROMPTS:
        report.tool_calls.append(probe_tool_call(client, model, p))
    n = len(report.tool_calls) or 1
    report.well_formed_rate = sum(c.well_formed for c in report.tool_calls) / n
    report.right_tool_rate = sum(c.right_tool for c in report.tool_calls) / n
    lat = [c.latency_s for c in report.tool_calls if c.error is None]
    report.call_latency_p50_s = statistics.median(lat) if lat else None
    report.errors += [f"tool call: {c.error}" for c in report.tool_calls if c.error]
    for name in ("round trip", "json schema", "speed"):
        try:
            if name == "round trip":
                report.round_trip_ok, report.round_trip_latency_s, report.round_trip_detail = \
                    probe_round_trip(client, model)
            elif name == "json schema":
                report.json_schema_ok, detail = probe_json_schema(client, model)
                if not report.json_schema_ok:
                    report.errors.append(f"json schema: {detail}"[:300])
            else:
                report.ttft_s, report.prompt_tokens_per_s, report.generation_tokens_per_s = probe_speed(client, model)
        except Exception as e:
            report.errors.append(f"{name}: {type(e).__name__}: {e}"[:300])
    return report
