"""The LLM path of a turn: call 1 picks a tool, call 2 writes the schema-bound JSON answer, the validator
reviews it, one repair round if it fits the budget, then the answer is assembled — LLM texts that pass
grounding and the person check, templates for the rest.

An answer that cannot be used at all raises :class:`AnswerUnusable` (and an unreachable LLM
``LLMUnavailableError``); :func:`evorec.agent.turn.run_turn` answers both with the plan-first executor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from evorec.agent.answer_templates import (
    LANGUAGE_NAMES,
    describe_constraints,
    pre_run_facts,
    recommended_item,
    template_item,
    template_message,
    template_summary,
    tidy_llm_text,
)
from evorec.agent.grounding import (
    CJK_TEXT,
    MESSAGE_CHARS,
    RATIONALE_CHARS,
    FinalAnswer,
    Grounder,
    Review,
    answer_schema,
)
from evorec.agent.grounding import response_format as json_schema_format
from evorec.agent.llm import ChatModel
from evorec.agent.llm_accounting import complete_recorded
from evorec.agent.person_check import PersonIssue, check_text
from evorec.agent.recommendations import Rationale, Recommendations, RecommendedItem
from evorec.agent.repair_policy import needs_repair, read_answer, repair_fits
from evorec.agent.stream_events import AgentEvent, MessageStreamer
from evorec.agent.tool_calls import ToolOutcome
from evorec.agent.tool_summaries import clip, ranked_summary
from evorec.agent.turn_context import TurnContext
from evorec.agent.turn_trace import TurnTrace
from evorec.prompts import load_prompt
from evorec.tools.recommendation import RankedList

# Output budgets: tool calls are short; a runaway generation must not eat the turn's latency budget.
# One call at its schema's longest fits: Qwen tokenizes digits singly (two dates ~25 tokens) and a 60-char query
# can be ~60 tokens; at 96 a legitimate call was cut mid-string (vLLM, issue 11) and parsed as no call at all.
TOOL_CALL_TOKENS = 160
ANSWER_TOKENS_BASE, ANSWER_TOKENS_PER_ITEM = 60, 75  # above what the schema's length caps allow
# Prompt budgets (prompt evaluation dominates a turn on a CPU): candidates shown beyond the items the
# LLM writes, past chat messages, evidence ids in the schema.
EXTRA_SHOWN, HISTORY_CHARS, EVIDENCE_ENUM_CAP = 1, 160, 32
# the answer instruction in the answer's language (a small model follows the language it is asked in)
ANSWER_PROMPTS = {"en": "agent_answer", "zh": "agent_answer_zh"}
EVIDENCE_ID = re.compile(r"ev:[\w|.\-]+(?::[\w|.\-]+)*")


class AnswerUnusable(Exception):
    """The LLM's answer cannot be used, even in part; ``ranked``: the candidates the turn settled."""

    def __init__(self, reason: str, ranked: RankedList) -> None:
        super().__init__(reason)
        self.ranked = ranked


@dataclass(frozen=True)
class LLMTurnOptions:
    """``system``/``tool_specs``: the byte-stable prompt prefix; ``max_items``: rationales the LLM writes (the
    rest are templates); ``turn_budget_s``: a repair round runs only if it should end within this."""

    llm: ChatModel
    system: str
    tool_specs: list[dict[str, Any]]
    max_items: int
    turn_budget_s: float | None


def session_note(trace: TurnTrace, prefs_note: str) -> str:
    """What the model should know about the asker, in the asker's own voice and without their id (a model given
    an id writes it; told about "the person asking" it wrote "The person has ...")."""
    cold = not any(not o.cold_start for o in trace.tools if o.name == "get_user_history")
    return (f"({'I am new here, with no history yet. ' if cold else ''}My preferences in force: {prefs_note}. "
            f"Answer me in {LANGUAGE_NAMES[trace.lang]}.)")


def llm_answer(turn: TurnContext, opts: LLMTurnOptions, history: list[dict[str, str]]) -> Recommendations:
    """Call 1 picks tools (grammar-forced call, short prompt: the request, not the pre-run results);
    call 2 continues the same conversation (same prefix, so a llama.cpp server reuses its KV cache)
    with compact tool results and the pre-run facts, and asks for schema-bound JSON."""
    trace, constraints = turn.trace, turn.constraints
    past = [{"role": m["role"], "content": clip(m["content"], HISTORY_CHARS)} for m in history]
    msgs: list[dict[str, Any]] = [
        {"role": "system", "content": opts.system}, *past,
        {"role": "user", "content": f"{turn.message}\n{session_note(trace, describe_constraints(constraints))}"}]
    # One call: rank_candidates runs anyway, so the model's choice is the one tool the request needs;
    # several calls cost their tokens twice (generated, then read back as results).
    reply = complete_recorded(opts.llm, "tools", trace, msgs, tools=opts.tool_specs, tool_choice="required",
                              parallel_tool_calls=False, max_tokens=TOOL_CALL_TOKENS)
    calls = reply.tool_calls[:6]
    if not calls:  # asked for a call ("required") and got none usable: that is an invalid call
        trace.tools.append(ToolOutcome(name="(none)", issued_by="llm", ok=False, valid=False,
                                       error=f"no parseable tool call (finish: {reply.finish_reason})"))
    outcomes = [turn.run_tool(tc.function.name, tc.function.arguments, "llm") for tc in calls]
    had_rank = any(o.ok and o.ranked is not None for o in outcomes)
    ranked = turn.candidates()
    candidates = {i.item_id: i for i in ranked.items}
    g = Grounder(candidates, trace.evidence, trace.titles, constraints, request=turn.message)
    msgs.append({"role": "assistant", "content": reply.content or "",
                 **({"tool_calls": [{"id": tc.id, "type": "function",
                                     "function": {"name": tc.function.name, "arguments": tc.function.arguments}}
                                    for tc in calls]} if calls else {})})
    n_items = min(constraints.k, opts.max_items, max(len(candidates), 1))
    shown = n_items + EXTRA_SHOWN
    msgs += [{"role": "tool", "tool_call_id": tc.id, "name": tc.function.name,
              "content": ranked_summary(o.ranked, shown=shown) if o.ok and o.ranked is not None
              else o.for_model()} for tc, o in zip(calls, outcomes, strict=True)]
    extra = "" if had_rank else f"Candidates from rank_candidates:\n{ranked_summary(ranked, shown=shown)}\n\n"
    facts = pre_run_facts(trace)
    ask = load_prompt(ANSWER_PROMPTS[trace.lang]).strip().format(n=n_items, language=LANGUAGE_NAMES[trace.lang])
    msgs.append({"role": "user", "content": f"{extra}Facts about me:\n{facts}\n\n{ask}"})
    shown_text = "\n".join(str(m.get("content") or "") for m in msgs[len(past) + 1:])
    found = (e.rstrip(".") for e in EVIDENCE_ID.findall(shown_text))
    cite = [e for e in dict.fromkeys(found) if e in trace.evidence][:EVIDENCE_ENUM_CAP]
    pickable = [i.item_id for i in ranked.items[:shown]]
    # an English answer may hold CJK characters only where a title it could name does
    cjk_ok = trace.lang != "en" or any(CJK_TEXT.search(trace.titles.get(i, "")) for i in pickable)
    schema = answer_schema(pickable, cite, n_items, lang=trace.lang, cjk_ok=cjk_ok)
    streamer = MessageStreamer()

    def on_token(delta: str) -> None:
        if text := streamer.feed(delta):
            turn.emit(AgentEvent(type="token", text=text))

    answer_kw: dict[str, Any] = {"tools": opts.tool_specs, "tool_choice": "none",
                                 "response_format": json_schema_format(schema),
                                 "max_tokens": ANSWER_TOKENS_BASE + ANSWER_TOKENS_PER_ITEM * n_items}
    reply = complete_recorded(opts.llm, "answer", trace, msgs, on_token=on_token, **answer_kw)
    answer, rev, problem = read_answer(reply.content, g, trace)
    if needs_repair(problem, rev) and not repair_fits(trace, opts.turn_budget_s):
        # A repair round costs about another answer call: past the turn budget, templates stand in
        # for what failed (or, with nothing usable, the plan-first answer).
        if answer is None:
            raise AnswerUnusable(f"LLM answer invalid, no time for a repair round: {problem}", ranked)
        rev = rev.model_copy(update={"dropped": [*rev.dropped, "no repair round: over the turn's latency budget"]}
                             ) if rev is not None else rev
    elif needs_repair(problem, rev):
        trace.repaired = True
        notes = problem or (rev.repair_notes() if rev else "")
        # unparseable output is not worth showing back (it is often a runaway repetition)
        shown_reply = [] if problem else [{"role": "assistant", "content": reply.content or ""}]
        rmsgs = [*msgs, *shown_reply,
                 {"role": "user", "content": load_prompt("agent_repair").strip().format(problems=notes)}]
        reply = complete_recorded(opts.llm, "repair", trace, rmsgs, **answer_kw)
        answer2, rev2, problem2 = read_answer(reply.content, g, trace)
        if problem2 is None:
            answer, rev = answer2, rev2
        elif answer is None:
            raise AnswerUnusable(f"LLM answer invalid after repair: {problem2}", ranked)
    assert answer is not None and rev is not None
    return assemble(turn, ranked, answer, rev, g, streamed=streamer.emitted > 0)


def assemble(turn: TurnContext, ranked: RankedList, answer: FinalAnswer, rev: Review, g: Grounder,
             streamed: bool) -> Recommendations:
    """The answer: the LLM's texts that passed grounding and the person check, templates for the rest, filled
    to ``k`` from the ranking; every correction listed in ``dropped``."""
    trace, constraints, lang = turn.trace, turn.constraints, turn.trace.lang
    dropped = list(rev.dropped)
    items: list[RecommendedItem] = []
    rev = rev.model_copy(update={"items": [v.model_copy(update={"rationale": tidy_llm_text(
        v.rationale, RATIONALE_CHARS, lang)}) for v in rev.items]})
    answer = answer.model_copy(update={
        "message": tidy_llm_text(answer.message, MESSAGE_CHARS, lang),
        "interest_summary": tidy_llm_text(answer.interest_summary, MESSAGE_CHARS, lang)})
    for v in rev.items:
        cand = g.candidates[v.item_id]
        if v.recited_from is not None:
            dropped.append(f"{v.item_id}: citations corrected from {', '.join(v.recited_from) or 'none'} to "
                           f"{', '.join(v.evidence_ids)} (the evidence that says what the rationale says)")
        if v.problems:
            dropped.append(f"{v.item_id}: LLM rationale replaced by template ({'; '.join(v.problems)})")
            items.append(template_item(len(items) + 1, cand, ranked, lang))
        elif issues := person_issues(v.rationale, f"rationale:{v.item_id}", trace, turn.user_id):
            dropped.append(f"{v.item_id}: LLM rationale replaced by template (not written for the person: "
                           f"{'; '.join(f'{i.kind} {i.detail!r}' for i in issues)})")
            items.append(template_item(len(items) + 1, cand, ranked, lang))
        else:
            items.append(recommended_item(len(items) + 1, cand, ranked, Rationale(
                text=v.rationale.strip(), evidence_ids=v.evidence_ids, source="llm")))
    chosen = {i.item_id for i in items}
    for cand in ranked.items:  # fill to k from the ranking, with template rationales
        if len(items) >= constraints.k:
            break
        if cand.item_id not in chosen:
            items.append(template_item(len(items) + 1, cand, ranked, lang))
    summary = answer.interest_summary.strip()
    summary_src: Literal["llm", "template"] = "llm"
    if _text_problems(summary, "interest_summary", rev.summary_problems, turn, dropped):
        summary, summary_src = template_summary(trace, turn.wording), "template"
    message = answer.message.strip()
    if message_problems := _text_problems(message, "message", rev.message_problems, turn, dropped):
        message = template_message(items, constraints, ranked, lang, turn.wording)
    if not streamed or message_problems:
        turn.emit(AgentEvent(type="token", text=message))
    return Recommendations(user_id=turn.user_id, items=items, interest_summary=summary or None,
                           interest_summary_source=summary_src if summary else None,
                           message=message, constraints=constraints, cold_start=ranked.cold_start,
                           shortfall=ranked.shortfall, dropped=dropped, timings_ms=dict(ranked.timings_ms))


def _text_problems(text: str, name: str, review_problems: list[str], turn: TurnContext,
                   dropped: list[str]) -> list[str]:
    """Why one of the answer's texts (message, interest_summary) must be replaced by its template: the
    grounding review's problems, else the person check's; empty text counts as a problem that is not
    reported (nothing was dropped)."""
    problems = list(review_problems)
    if text and not problems:
        where = "summary" if name == "interest_summary" else name
        problems = [f"{i.kind} {i.detail!r}" for i in person_issues(text, where, turn.trace, turn.user_id)]
    if problems:
        dropped.append(f"{name} replaced by template ({'; '.join(problems)})")
    return problems or ([] if text else ["empty"])


def person_issues(text: str, where: str, trace: TurnTrace, user_id: str) -> list[PersonIssue]:
    """The person-facing check of one grounded LLM text (recorded in the trace; the caller swaps in the
    template when this is not empty)."""
    ids = [*trace.candidate_ids, *([user_id] if not user_id.isdigit() else [])]
    issues = [i.model_copy(update={"text": text})
              for i in check_text(text, where, trace.lang, list(trace.titles.values()), ids)]
    trace.llm_texts += 1
    trace.llm_text_issues += issues
    return issues
