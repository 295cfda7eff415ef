"""``AgentService``: one turn = pre-run tools, LLM picks tools, LLM writes JSON, validator, answer.

The common case is two LLM calls per turn: (1) tool selection, shown the summaries of the
cheap always-needed tools (history, forecast, trends) which run deterministically first;
(2) the final answer, JSON-schema constrained, shown every tool result. A third call (one
repair round) only when the validator rejects something. Any LLM failure (unreachable,
timeout, garbage after repair) falls back to the plan-first executor with ``degraded=True``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal

from pydantic import BaseModel, Field

from evorec.agent.answer import Rationale, Recommendations, RecommendedItem
from evorec.agent.cancel import TurnCancelled, raise_if_cancelled
from evorec.agent.events import AgentEvent, MessageStreamer
from evorec.agent.grounding import (
    MESSAGE_CHARS,
    RATIONALE_CHARS,
    FinalAnswer,
    Grounder,
    Review,
    answer_schema,
    parse_answer,
    response_format,
    review,
)
from evorec.agent.llm import ChatModel, ChatReply, llm_from_settings
from evorec.agent.llm_tools import LLM_TOOLS, PRE_RUN, TOOLS
from evorec.agent.other_users import mentions_other_user, own_part
from evorec.agent.person_check import PersonIssue, check_text
from evorec.agent.person_text import detect_language, refusal
from evorec.agent.person_text import template_message as person_message
from evorec.agent.person_text import template_rationale as person_rationale
from evorec.agent.person_text import template_summary as person_summary
from evorec.agent.preferences import PreferenceUpdate, parse_preferences
from evorec.agent.sessions import Session, SessionStore
from evorec.agent.tool_calls import ToolOutcome, UserBoundTools, tool_specs
from evorec.agent.tool_summaries import clip, ranked_summary
from evorec.errors import LLMUnavailableError
from evorec.prompts import load_prompt
from evorec.settings import Settings, get_settings
from evorec.tools.constraints import Constraints
from evorec.tools.evidence import Evidence
from evorec.tools.protocol import ToolboxProtocol
from evorec.tools.recommendation import RankedItem, RankedList
from evorec.tools.wording import GENERIC, CatalogWording, Lang, wording_for

Emit = Callable[[AgentEvent], None]
DEFAULT_QUESTION = "What should I watch next, and why?"
DEFAULT_QUESTIONS = {"en": "What would you recommend for me next, and why?", "zh": "接下来推荐我什么？为什么？"}
LANGUAGE_NAMES = {"en": "English", "zh": "Simplified Chinese (简体中文)"}
TERMINAL = ".!?。！？…)）\"”"
HISTORY_TURNS = 4
# Output budgets: tool calls are short; a runaway generation must not eat the turn's latency budget.
# One call at its schema's longest fits: Qwen tokenizes digits singly (two dates ~25 tokens) and a 60-char query
# can be ~60 tokens; at 96 a legitimate call was cut mid-string (vLLM, issue 11) and parsed as no call at all.
TOOL_CALL_TOKENS = 160
ANSWER_TOKENS_BASE, ANSWER_TOKENS_PER_ITEM = 60, 75  # above what the schema's length caps allow
# Prompt budgets (prompt evaluation dominates a turn on a CPU): candidates shown beyond the items the
# LLM writes, characters per pre-run fact, trends shown, past chat messages, evidence ids in the schema.
EXTRA_SHOWN, FACT_CHARS, TRENDS_SHOWN, HISTORY_CHARS, EVIDENCE_ENUM_CAP = 1, 120, 1, 160, 32
EVIDENCE_ID = re.compile(r"ev:[\w|.\-]+(?::[\w|.\-]+)*")


class LLMCall(BaseModel):
    purpose: str
    latency_ms: float
    ok: bool
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    prefill_ms: float | None = None
    generation_ms: float | None = None


class TurnTrace(BaseModel):
    """Everything evaluation needs about one turn beyond the answer itself."""

    llm_calls: list[LLMCall] = Field(default_factory=list)
    tools: list[ToolOutcome] = Field(default_factory=list)
    proposed_item_ids: list[str] = Field(default_factory=list, description="Item ids the LLM wrote, pre-validation.")
    repaired: bool = False
    preferences: PreferenceUpdate | None = None
    evidence: dict[str, Evidence] = Field(default_factory=dict)
    candidate_ids: list[str] = Field(default_factory=list)
    titles: dict[str, str] = Field(default_factory=dict)
    lang: Lang = Field("en", description="The request's language: what the answer is written in.")
    other_user: bool = Field(False, description="The request asked about another user (refused).")
    llm_texts: int = Field(0, description="Texts the LLM wrote that passed grounding (then the person check).")
    llm_text_issues: list[PersonIssue] = Field(default_factory=list, description="Person-check failures of LLM "
                                               "texts, each replaced by its template.")
    started_at: float = Field(default_factory=time.perf_counter, exclude=True, description="perf_counter at start.")


class TurnResult(BaseModel):
    recommendations: Recommendations
    trace: TurnTrace


class AgentService:
    def __init__(self, toolbox: ToolboxProtocol, settings: Settings | None = None, llm: ChatModel | None = None,
                 llm_max_items: int = 2, sessions: SessionStore | None = None,
                 turn_budget_s: float | None = 15.0, llm_filters: bool = False) -> None:
        """``llm=None`` uses the endpoint configured in settings (none configured: plan-first only).
        ``llm_max_items``: how many items the LLM writes rationales for (the rest get templates),
        which bounds the answer length and so the latency on a CPU model. ``turn_budget_s``: the repair
        round runs only if it is expected to end the turn within this (None: always). ``llm_filters``:
        offer rank_candidates' category/year filters to the model (off: a small model fills them with
        noise; the stated preferences, parsed from the messages, are hard constraints either way)."""
        self.toolbox = toolbox
        self.settings = settings or get_settings()
        self.llm: ChatModel | None = llm if llm is not None else llm_from_settings(self.settings)
        self.llm_max_items = llm_max_items
        self.turn_budget_s = turn_budget_s
        self.llm_filters = llm_filters
        self.sessions = sessions or SessionStore(self.settings.home / "sessions.sqlite")

    # ---- public API ---------------------------------------------------------------------------
    def recommend(self, user_id: str, constraints: Constraints | None = None, explain: bool = True,
                  use_llm: bool = True) -> Recommendations:
        """One-shot recommendation (no session). ``explain=False`` or ``use_llm=False``: plan-first."""
        c = constraints or Constraints()
        return self.run_turn(str(user_id), DEFAULT_QUESTION, c, use_llm=use_llm and explain).recommendations

    def ask(self, user_id: str, message: str, constraints: Constraints | None = None,
            use_llm: bool = True) -> Recommendations:
        """One-shot question (no session): preferences stated in it apply to this answer only."""
        asked, other = self._own_request(str(user_id), message)
        prefs = parse_preferences(asked, self._categories())
        c = prefs.apply_to(constraints or Constraints())
        return self.run_turn(str(user_id), asked, c, use_llm=use_llm, prefs=prefs, lang=detect_language(message),
                             refuse_other=other).recommendations

    def close(self) -> None:
        """Nothing is held open between calls (sessions open a connection per operation)."""

    def chat(self, session_id: str, user_id: str, message: str) -> Recommendations:
        final: Recommendations | None = None
        for ev in self.chat_stream(session_id, user_id, message):
            if ev.type == "final":
                final = ev.recommendations
        assert final is not None  # chat_stream always ends with a final event
        return final

    def chat_stream(self, session_id: str, user_id: str, message: str) -> Iterator[AgentEvent]:
        """Events of one chat turn; always ends with exactly one ``final`` event."""
        import queue
        import threading

        q: queue.Queue[AgentEvent | None] = queue.Queue()
        result: dict[str, Any] = {}

        def work() -> None:
            try:
                result["r"] = self.chat_turn(session_id, user_id, message, emit=q.put)
            except Exception as e:  # surfaced as an error event, then re-raised in the caller's thread
                result["e"] = e
            finally:
                q.put(None)

        import contextvars

        ctx = contextvars.copy_context()  # the caller's cancel flag (evorec.agent.cancel) reaches the worker
        t = threading.Thread(target=ctx.run, args=(work,), name="evorec-agent-turn", daemon=True)
        t.start()
        while (ev := q.get()) is not None:
            yield ev
        t.join()
        if "e" in result:
            yield AgentEvent(type="error", text=str(result["e"]).splitlines()[0] if str(result["e"]) else "error")
            raise result["e"]
        yield AgentEvent(type="final", recommendations=result["r"].recommendations)

    def chat_turn(self, session_id: str, user_id: str, message: str, emit: Emit | None = None,
                  use_llm: bool = True) -> TurnResult:
        """One chat turn with session memory (what chat/chat_stream run; evals call it for the trace)."""
        session = self.sessions.open(session_id, str(user_id))
        asked, other = self._own_request(str(user_id), message)
        prefs = parse_preferences(asked, self._categories())
        constraints = prefs.apply_to(session.constraints)
        if constraints != session.constraints:
            self.sessions.set_constraints(session_id, constraints)
        history = [{"role": t.role, "content": t.content} for t in session.turns[-HISTORY_TURNS:]]
        self.sessions.append(session_id, "user", message)
        res = self.run_turn(str(user_id), asked, constraints, history=history, emit=emit, use_llm=use_llm,
                            prefs=prefs, lang=detect_language(message), refuse_other=other)
        rec = res.recommendations
        listed = "; ".join(f"{i.title} [{i.item_id}]" for i in rec.items)
        self.sessions.append(session_id, "assistant", (rec.message or "") + (f"\nRecommended: {listed}" if listed
                                                                              else ""),
                             {"items": [i.item_id for i in rec.items], "degraded": rec.degraded,
                              "llm_calls": rec.llm_calls})
        return res

    def get_session(self, session_id: str) -> Session:
        return self.sessions.get(session_id)

    def delete_session(self, session_id: str) -> bool:
        return self.sessions.delete(session_id)

    def delete_user_sessions(self, user_id: str) -> int:
        return self.sessions.delete_user(str(user_id))

    # ---- one turn -----------------------------------------------------------------------------
    def _categories(self) -> list[str]:
        return list(self.toolbox.categories)

    @property
    def wording(self) -> CatalogWording:
        """The catalog's words (films / products / items), for prompts and templates."""
        try:
            return wording_for(str(self.toolbox.dataset_name), self.settings)
        except AttributeError:  # a toolbox double without a dataset name
            return GENERIC

    @staticmethod
    def _own_request(user_id: str, message: str) -> tuple[str, bool]:
        """(what the person asks about themself, whether the message asked about someone else): a request
        about another user is refused deterministically and never reaches the LLM or the preference parser."""
        if not mentions_other_user(message, user_id):
            return message, False
        return own_part(message, user_id), True

    def run_turn(self, user_id: str, message: str, constraints: Constraints,
                 history: list[dict[str, str]] | None = None, emit: Emit | None = None, use_llm: bool = True,
                 prefs: PreferenceUpdate | None = None, lang: Lang | None = None,
                 refuse_other: bool = False) -> TurnResult:
        """One turn for ``user_id``. ``lang``: the language to answer in (default: the message's);
        ``refuse_other``: the request also asked about another user; the answer starts with the refusal."""
        t0 = time.perf_counter()
        emit = emit or (lambda ev: None)
        trace = TurnTrace(preferences=prefs, lang=lang or detect_language(message), other_user=refuse_other)
        message = message.strip() or DEFAULT_QUESTIONS[trace.lang]
        if refuse_other:
            emit(AgentEvent(type="token", text=refusal(trace.lang) + " "))
        kit = UserBoundTools(self.toolbox, user_id, constraints)
        for name in PRE_RUN:
            pre = TOOLS[name].pre_run
            self._run_tool(kit, name, dict(pre.arguments) if pre else {}, "plan", trace, emit)
        if self.llm is None or not use_llm:
            reason = "LLM disabled for this request" if self.llm is not None else "no LLM endpoint configured"
            rec = self._plan_first(kit, user_id, message, constraints, trace, emit, reason)
        else:
            try:
                rec = self._llm_turn(kit, user_id, message, constraints, history or [], trace, emit)
            except LLMUnavailableError as e:
                rec = self._plan_first(kit, user_id, message, constraints, trace, emit, str(e))
        if refuse_other:
            rec.message = f"{refusal(trace.lang)} {rec.message or ''}".strip()
        rec.llm_calls = len(trace.llm_calls)
        rec.tool_calls = [o.name for o in trace.tools]
        rec.timings_ms.update({f"llm_{i + 1}_{c.purpose}": round(c.latency_ms, 1)
                               for i, c in enumerate(trace.llm_calls)})
        rec.timings_ms["tools"] = round(sum(o.latency_ms for o in trace.tools), 1)
        rec.timings_ms["total"] = round((time.perf_counter() - t0) * 1000, 1)
        return TurnResult(recommendations=rec, trace=trace)

    def _run_tool(self, kit: UserBoundTools, name: str, args: str | dict[str, Any], by: Literal["llm", "plan"],
                  trace: TurnTrace, emit: Emit) -> ToolOutcome:
        raise_if_cancelled()
        shown = args if isinstance(args, dict) else {"raw": args}
        emit(AgentEvent(type="tool_call", tool=name, arguments=shown, issued_by=by))
        out = kit.call(name, args, issued_by=by)
        trace.tools.append(out)
        trace.evidence.update(out.evidence)
        trace.titles.update(out.titles)
        emit(AgentEvent(type="tool_result", tool=name, issued_by=out.issued_by, ok=out.ok,
                        summary=out.for_model()[:600], evidence_ids=list(out.evidence)[:20],
                        latency_ms=round(out.latency_ms, 1)))
        return out

    def _complete(self, purpose: str, trace: TurnTrace, messages: list[dict[str, Any]], **kw: Any) -> ChatReply:
        assert self.llm is not None
        raise_if_cancelled()
        sink = kw.get("on_token")
        if sink is not None:
            def checked(delta: str) -> None:  # a disconnected caller stops the stream at the next token
                raise_if_cancelled()
                sink(delta)
            kw = {**kw, "on_token": checked}
        t0 = time.perf_counter()
        try:
            reply = self.llm.complete(messages, **kw)
        except TurnCancelled:
            raise
        except LLMUnavailableError:
            trace.llm_calls.append(LLMCall(purpose=purpose, latency_ms=(time.perf_counter() - t0) * 1000, ok=False))
            raise
        except Exception as e:  # a client library error we did not map: still degrade, never raise
            trace.llm_calls.append(LLMCall(purpose=purpose, latency_ms=(time.perf_counter() - t0) * 1000, ok=False))
            raise LLMUnavailableError(f"LLM call failed: {type(e).__name__}: {e}") from e
        trace.llm_calls.append(LLMCall(purpose=purpose, latency_ms=(time.perf_counter() - t0) * 1000, ok=True,
                                       prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens,
                                       cached_tokens=reply.cached_tokens, prefill_ms=reply.prefill_ms,
                                       generation_ms=reply.generation_ms))
        return reply

    @staticmethod
    def _ranked(trace: TurnTrace) -> RankedList | None:
        """The candidate set: the union of every successful rank_candidates call, the latest one's order first."""
        lists = [o.ranked for o in trace.tools if o.ok and o.ranked is not None]
        if not lists:
            return None
        base = lists[-1].model_copy(deep=True)
        seen = {i.item_id for i in base.items}
        known = {e.id for e in base.evidence}
        for other in lists[:-1]:
            base.evidence += [e for e in other.evidence if e.id not in known]
            known |= {e.id for e in other.evidence}
            for it in other.items:
                if it.item_id not in seen:
                    seen.add(it.item_id)
                    base.items.append(it)
        return base

    def _ensure_ranked(self, kit: UserBoundTools, trace: TurnTrace, emit: Emit) -> RankedList:
        ranked = self._ranked(trace)
        if ranked is None:
            out = self._run_tool(kit, "rank_candidates", {"k": min(kit.constraints.k, 50)}, "plan", trace, emit)
            if not out.ok or out.ranked is None:
                ranked = RankedList(user_id=kit.user_id, items=[], constraints=kit.constraints,
                                    shortfall=out.error or "ranking failed")
            else:
                ranked = out.ranked
        trace.candidate_ids = [i.item_id for i in ranked.items]
        return ranked

    # ---- LLM path -----------------------------------------------------------------------------
    def llm_prefix(self) -> tuple[str, list[dict[str, Any]]]:
        """(system prompt, tools) every LLM call of this service starts with: what ``launcher.warm_up``
        should evaluate once so later calls reuse the server's KV cache for it."""
        w = self.wording
        system = load_prompt("agent_system").strip().replace("{noun}", w.noun).replace("{plural}", w.plural).replace(
            "{verb}", w.verb)
        return system, tool_specs(LLM_TOOLS, self._categories(), self.llm_filters)

    @staticmethod
    def _session_note(user_id: str, trace: TurnTrace, prefs_note: str) -> str:
        """What the model should know about the asker, without their id (a model given an id writes it)."""
        cold = not any(not o.cold_start for o in trace.tools if o.name == "get_user_history")
        return (f"(The person asking{', new here: no history yet' if cold else ''}. Preferences in force: "
                f"{prefs_note}. Answer in {LANGUAGE_NAMES[trace.lang]}.)")

    def _llm_turn(self, kit: UserBoundTools, user_id: str, message: str, constraints: Constraints,
                  history: list[dict[str, str]], trace: TurnTrace, emit: Emit) -> Recommendations:
        """Call 1 picks tools (grammar-forced call, short prompt: the request, not the pre-run results);
        call 2 continues the same conversation (same prefix, so a llama.cpp server reuses its KV cache)
        with compact tool results and the pre-run facts, and asks for schema-bound JSON."""
        system, specs = self.llm_prefix()
        note = describe_constraints(constraints)
        past = [{"role": m["role"], "content": clip(m["content"], HISTORY_CHARS)} for m in history]
        msgs: list[dict[str, Any]] = [
            {"role": "system", "content": system}, *past,
            {"role": "user", "content": f"{message}\n{self._session_note(user_id, trace, note)}"}]
        # One call: rank_candidates runs anyway, so the model's choice is the one tool the request needs;
        # several calls cost their tokens twice (generated, then read back as results).
        reply = self._complete("tools", trace, msgs, tools=specs, tool_choice="required",
                               parallel_tool_calls=False, max_tokens=TOOL_CALL_TOKENS)
        calls = reply.tool_calls[:6]
        if not calls:  # asked for a call ("required") and got none usable: that is an invalid call
            trace.tools.append(ToolOutcome(name="(none)", issued_by="llm", ok=False, valid=False,
                                           error=f"no parseable tool call (finish: {reply.finish_reason})"))
        outcomes = [self._run_tool(kit, tc.name, tc.arguments, "llm", trace, emit) for tc in calls]
        had_rank = any(o.ok and o.ranked is not None for o in outcomes)
        ranked = self._ensure_ranked(kit, trace, emit)
        candidates = {i.item_id: i for i in ranked.items}
        g = Grounder(candidates, trace.evidence, trace.titles, constraints, request=message)
        msgs.append({"role": "assistant", "content": reply.content or "",
                     **({"tool_calls": [{"id": tc.id, "type": "function",
                                         "function": {"name": tc.name, "arguments": tc.arguments}}
                                        for tc in calls]} if calls else {})})
        n_items = min(constraints.k, self.llm_max_items, max(len(candidates), 1))
        shown = n_items + EXTRA_SHOWN
        msgs += [{"role": "tool", "tool_call_id": tc.id, "name": tc.name,
                  "content": ranked_summary(o.ranked, shown=shown) if o.ok and o.ranked is not None
                  else o.for_model()} for tc, o in zip(calls, outcomes, strict=True)]
        extra = "" if had_rank else f"Candidates from rank_candidates:\n{ranked_summary(ranked, shown=shown)}\n\n"
        facts = pre_run_facts(trace)
        msgs.append({"role": "user", "content": f"{extra}Facts about you (the person asking):\n{facts}\n\n"
                     f"{load_prompt('agent_answer').strip().format(n=n_items, language=LANGUAGE_NAMES[trace.lang])}"})
        shown_text = "\n".join(str(m.get("content") or "") for m in msgs[len(past) + 1:])
        found = (e.rstrip(".") for e in EVIDENCE_ID.findall(shown_text))
        cite = [e for e in dict.fromkeys(found) if e in trace.evidence][:EVIDENCE_ENUM_CAP]
        pickable = [i.item_id for i in ranked.items[:shown]]
        schema = answer_schema(pickable, cite, n_items)
        streamer = MessageStreamer()

        def on_token(delta: str) -> None:
            if text := streamer.feed(delta):
                emit(AgentEvent(type="token", text=text))

        answer_kw: dict[str, Any] = {"tools": specs, "tool_choice": "none", "response_format": response_format(schema),
                                     "max_tokens": ANSWER_TOKENS_BASE + ANSWER_TOKENS_PER_ITEM * n_items}
        reply = self._complete("answer", trace, msgs, on_token=on_token, **answer_kw)
        answer, rev, problem = self._read(reply.content, g, trace)
        if (problem is not None or (rev is not None and not rev.clean)) and not self._repair_fits(trace):
            # A repair round costs about another answer call: past the turn budget, templates stand in
            # for what failed (or, with nothing usable, the plan-first answer).
            if answer is None:
                return self._plan_first(kit, user_id, message, constraints, trace, emit,
                                        f"LLM answer invalid, no time for a repair round: {problem}", reuse=ranked)
            rev = rev.model_copy(update={"dropped": [*rev.dropped, "no repair round: over the turn's latency budget"]}
                                 ) if rev is not None else rev
        elif problem is not None or (rev is not None and not rev.clean):
            trace.repaired = True
            notes = problem or (rev.repair_notes() if rev else "")
            # unparseable output is not worth showing back (it is often a runaway repetition)
            shown_reply = [] if problem else [{"role": "assistant", "content": reply.content or ""}]
            rmsgs = [*msgs, *shown_reply,
                     {"role": "user", "content": load_prompt("agent_repair").strip().format(problems=notes)}]
            reply = self._complete("repair", trace, rmsgs, **answer_kw)
            answer2, rev2, problem2 = self._read(reply.content, g, trace)
            if problem2 is None:
                answer, rev = answer2, rev2
            elif answer is None:
                return self._plan_first(kit, user_id, message, constraints, trace, emit,
                                        f"LLM answer invalid after repair: {problem2}", reuse=ranked)
        assert answer is not None and rev is not None
        return self._assemble(user_id, ranked, answer, rev, g, constraints, trace, emit, streamed=streamer.emitted > 0)

    def _repair_fits(self, trace: TurnTrace) -> bool:
        """Would one more answer-sized LLM call still end the turn within ``turn_budget_s``?"""
        if self.turn_budget_s is None:
            return True
        elapsed = time.perf_counter() - trace.started_at
        last = trace.llm_calls[-1].latency_ms / 1000 if trace.llm_calls else 0.0
        return elapsed + last <= self.turn_budget_s

    @staticmethod
    def _read(content: str | None, g: Grounder, trace: TurnTrace
              ) -> tuple[FinalAnswer | None, Review | None, str | None]:
        try:
            ans = parse_answer(content)
        except ValueError as e:
            return None, None, f"- the answer was not valid JSON for the schema: {e}"
        trace.proposed_item_ids = [i.item_id for i in ans.items]
        return ans, review(ans, g), None

    def _assemble(self, user_id: str, ranked: RankedList, answer: FinalAnswer, rev: Review, g: Grounder,
                  constraints: Constraints, trace: TurnTrace, emit: Emit, streamed: bool) -> Recommendations:
        dropped = list(rev.dropped)
        items: list[RecommendedItem] = []
        rev = rev.model_copy(update={"items": [v.model_copy(update={"rationale": _finish(v.rationale, RATIONALE_CHARS,
                                                                                           trace.lang)})
                                               for v in rev.items]})
        answer = answer.model_copy(update={"message": _finish(answer.message, MESSAGE_CHARS, trace.lang)})
        for v in rev.items:
            cand = g.candidates[v.item_id]
            if v.recited_from is not None:
                dropped.append(f"{v.item_id}: citations corrected from {', '.join(v.recited_from) or 'none'} to "
                               f"{', '.join(v.evidence_ids)} (the evidence that says what the rationale says)")
            if v.problems:
                dropped.append(f"{v.item_id}: LLM rationale replaced by template ({'; '.join(v.problems)})")
                items.append(_template_item(len(items) + 1, cand, ranked, trace.lang))
            elif issues := self._person_issues(v.rationale, f"rationale:{v.item_id}", trace, user_id):
                dropped.append(f"{v.item_id}: LLM rationale replaced by template (not written for the person: "
                               f"{'; '.join(f'{i.kind} {i.detail!r}' for i in issues)})")
                items.append(_template_item(len(items) + 1, cand, ranked, trace.lang))
            else:
                items.append(_item(len(items) + 1, cand, ranked, Rationale(text=v.rationale.strip(),
                                                                          evidence_ids=v.evidence_ids, source="llm")))
        chosen = {i.item_id for i in items}
        for cand in ranked.items:  # fill to k from the ranking, with template rationales
            if len(items) >= constraints.k:
                break
            if cand.item_id not in chosen:
                items.append(_template_item(len(items) + 1, cand, ranked, trace.lang))
        summary = answer.interest_summary.strip()
        summary_src: Literal["llm", "template"] = "llm"
        summary_problems = list(rev.summary_problems)
        if summary and not summary_problems:
            summary_problems = [f"{i.kind} {i.detail!r}"
                                for i in self._person_issues(summary, "summary", trace, user_id)]
        if summary_problems or not summary:
            if summary_problems:
                dropped.append(f"interest_summary replaced by template ({'; '.join(summary_problems)})")
            summary, summary_src = template_summary(trace, self.wording), "template"
        message = answer.message.strip()
        message_problems = list(rev.message_problems)
        if message and not message_problems:
            message_problems = [f"{i.kind} {i.detail!r}"
                                for i in self._person_issues(message, "message", trace, user_id)]
        if message_problems or not message:
            if message_problems:
                dropped.append(f"message replaced by template ({'; '.join(message_problems)})")
            message = template_message(items, constraints, ranked, trace.lang, self.wording)
        if not streamed or message_problems:
            emit(AgentEvent(type="token", text=message))
        return Recommendations(user_id=user_id, items=items, interest_summary=summary or None,
                               interest_summary_source=summary_src if summary else None,
                               message=message, constraints=constraints, cold_start=ranked.cold_start,
                               shortfall=ranked.shortfall, dropped=dropped, timings_ms=dict(ranked.timings_ms))

    @staticmethod
    def _person_issues(text: str, where: str, trace: TurnTrace, user_id: str) -> list[PersonIssue]:
        """The person-facing check of one grounded LLM text (recorded in the trace; the caller swaps in the
        template when this is not empty)."""
        ids = [*trace.candidate_ids, *([user_id] if not user_id.isdigit() else [])]
        issues = check_text(text, where, trace.lang, list(trace.titles.values()), ids)
        trace.llm_texts += 1
        trace.llm_text_issues += issues
        return issues

    # ---- plan-first ---------------------------------------------------------------------------
    def _plan_first(self, kit: UserBoundTools, user_id: str, message: str, constraints: Constraints, trace: TurnTrace,
                    emit: Emit, reason: str, reuse: RankedList | None = None) -> Recommendations:
        """history → forecast → trends → rank → template rationales (the pre-run tools already ran)."""
        ranked = reuse or self._ensure_ranked(kit, trace, emit)
        items = [_template_item(i + 1, it, ranked, trace.lang) for i, it in enumerate(ranked.items[: constraints.k])]
        summary = template_summary(trace, self.wording)
        msg = template_message(items, constraints, ranked, trace.lang, self.wording)
        emit(AgentEvent(type="token", text=msg))
        return Recommendations(user_id=user_id, items=items, interest_summary=summary or None,
                               interest_summary_source="template" if summary else None, message=msg,
                               constraints=constraints, cold_start=ranked.cold_start, degraded=True,
                               degraded_reason=reason, shortfall=ranked.shortfall,
                               timings_ms=dict(ranked.timings_ms))


def _finish(text: str, cap: int, lang: Lang) -> str:
    """End a sentence the model left without a full stop, unless it stopped at its length cap (then it was
    cut, and the person check calls it incomplete)."""
    t = text.strip()
    if t and t[-1] not in TERMINAL and len(t) < cap - 1:
        return t + ("。" if lang == "zh" else ".")
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


# ---- templates ------------------------------------------------------------------------------------
def _evidence_for(it: RankedItem, ranked: RankedList, ids: list[str]) -> list[Evidence]:
    pool = ranked.evidence_by_id()
    return [pool[e] for e in ids if e in pool]


def _item(rank: int, it: RankedItem, ranked: RankedList, rationale: Rationale) -> RecommendedItem:
    ids = list(dict.fromkeys([*rationale.evidence_ids, *it.evidence_ids]))
    return RecommendedItem(rank=rank, item_id=it.item_id, title=it.title, categories=it.categories, year=it.year,
                           score=it.score, sources=it.sources, rationale=rationale,
                           evidence=_evidence_for(it, ranked, ids))


def template_rationale(it: RankedItem, ranked: RankedList, lang: Lang = "en") -> Rationale:
    """The item's evidence-built rationale, in the request's language (``tools/ranking/explain.py``)."""
    return Rationale(text=person_rationale(it, ranked.evidence_by_id(), lang), evidence_ids=list(it.evidence_ids),
                     source="template")


def _template_item(rank: int, it: RankedItem, ranked: RankedList, lang: Lang = "en") -> RecommendedItem:
    return _item(rank, it, ranked, template_rationale(it, ranked, lang))


def template_summary(trace: TurnTrace, wording: CatalogWording = GENERIC) -> str:
    """Where the person's interests are heading: the forecast mix and the trends that move most."""
    return person_summary(trace.evidence, trace.lang, wording)


def describe_constraints(c: Constraints) -> str:
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
