"""``AgentService``: what callers use — one-shot answers, chat turns with session memory, their event stream,
and the session pass-throughs. A turn itself is :func:`evorec.agent.turn.run_turn`:

pre-run tools → LLM picks a tool → LLM writes the JSON answer → grounding validator → answer
(:mod:`~evorec.agent.llm_answer`), two LLM calls in the common case, a third for one repair round. Any LLM
failure falls back to the plan-first executor (:mod:`~evorec.agent.plan_first`) with ``degraded=True``,
decided in one place (:mod:`~evorec.agent.turn`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evorec.agent.answer_templates import DEFAULT_QUESTION
from evorec.agent.llm import ChatModel, llm_from_settings
from evorec.agent.llm_answer import LLMTurnOptions
from evorec.agent.llm_tools import LLM_TOOLS
from evorec.agent.other_users import mentions_other_user, own_part
from evorec.agent.person_text import detect_language
from evorec.agent.preferences import PreferenceUpdate, parse_preferences
from evorec.agent.recommendations import Recommendations
from evorec.agent.sessions import Session, SessionStore
from evorec.agent.stream_events import AgentEvent, Emit
from evorec.agent.thread_stream import stream_turn
from evorec.agent.tool_calls import tool_specs
from evorec.agent.turn import run_turn
from evorec.agent.turn_trace import TurnResult
from evorec.prompts import load_prompt
from evorec.settings import Settings, get_settings
from evorec.tools.constraints import Constraints
from evorec.tools.protocol import ToolboxProtocol
from evorec.tools.wording import GENERIC, CatalogWording, Lang, wording_for

HISTORY_TURNS = 4  # past chat messages the LLM is shown


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

    # ---- answers ------------------------------------------------------------------------------
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
        return stream_turn(lambda emit: self.chat_turn(session_id, user_id, message, emit=emit))

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

    def run_turn(self, user_id: str, message: str, constraints: Constraints,
                 history: list[dict[str, str]] | None = None, emit: Emit | None = None, use_llm: bool = True,
                 prefs: PreferenceUpdate | None = None, lang: Lang | None = None,
                 refuse_other: bool = False) -> TurnResult:
        """One turn (:func:`evorec.agent.turn.run_turn`) with this service's tools, LLM and budgets."""
        llm = None
        if self.llm is not None and use_llm:
            system, specs = self.llm_prefix()
            llm = LLMTurnOptions(self.llm, system, specs, self.llm_max_items, self.turn_budget_s)
        reason = "LLM disabled for this request" if self.llm is not None else "no LLM endpoint configured"
        return run_turn(self.toolbox, user_id, message, constraints, llm=llm, no_llm_reason=reason,
                        wording=self.wording, history=history, emit=emit, prefs=prefs, lang=lang,
                        refuse_other=refuse_other)

    # ---- sessions -----------------------------------------------------------------------------
    def get_session(self, session_id: str) -> Session:
        return self.sessions.get(session_id)

    def delete_session(self, session_id: str) -> bool:
        return self.sessions.delete(session_id)

    def delete_user_sessions(self, user_id: str) -> int:
        return self.sessions.delete_user(str(user_id))

    # ---- what every turn shares ---------------------------------------------------------------
    def _categories(self) -> list[str]:
        return list(self.toolbox.categories)

    @property
    def wording(self) -> CatalogWording:
        """The catalog's words (films / products / items), for prompts and templates."""
        try:
            return wording_for(str(self.toolbox.dataset_name), self.settings)
        except AttributeError:  # a toolbox without a dataset name
            return GENERIC

    @staticmethod
    def _own_request(user_id: str, message: str) -> tuple[str, bool]:
        """(what the person asks about themself, whether the message asked about someone else): a request
        about another user is refused deterministically and never reaches the LLM or the preference parser."""
        if not mentions_other_user(message, user_id):
            return message, False
        return own_part(message, user_id), True

    def llm_prefix(self) -> tuple[str, list[dict[str, Any]]]:
        """(system prompt, tools) every LLM call of this service starts with: what ``launcher.warm_up``
        should evaluate once so later calls reuse the server's KV cache for it."""
        w = self.wording
        system = load_prompt("agent_system").strip().replace("{noun}", w.noun).replace("{plural}", w.plural).replace(
            "{verb}", w.verb)
        return system, tool_specs(LLM_TOOLS, self._categories(), self.llm_filters)
