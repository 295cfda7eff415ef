"""``POST /v1/recommend``: the structured answer for one user, programmatically."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from evorec.agent import Recommendations
from evorec.serving.api.auth import Principal, check_user, require_principal
from evorec.serving.api.deps import get_metrics, get_services
from evorec.serving.api.engines import Engines
from evorec.serving.api.links import RECOMMEND_LINKS
from evorec.serving.api.metrics import ApiMetrics
from evorec.serving.api.protocol import RecommendRequest
from evorec.serving.api.turns import TurnGate, TurnRun, get_turn_gate

router = APIRouter(tags=["recommend"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"}, 403: {"description": "Key may not act for this user"},
    429: {"description": "Too many agent turns running; see Retry-After"},
    503: {"description": "History store unavailable"}}


@router.post("/v1/recommend", response_model=Recommendations, responses={**ERRORS, 200: {"links": RECOMMEND_LINKS}})
async def recommend(req: RecommendRequest, request: Request, principal: Principal = Depends(require_principal),
                    services: Engines = Depends(get_services), metrics: ApiMetrics = Depends(get_metrics),
                    turns: TurnGate = Depends(get_turn_gate)) -> Recommendations:
    """Ranked items with scores, sources, rationales grounded in evidence, and the interest-evolution summary.

    Unknown users get a cold-start answer (``cold_start``); without a reachable LLM (or with ``llm: false``)
    the plan-first executor answers and ``degraded`` is set. With the LLM it is an agent turn: bounded in
    number (429 past the limit) and cancelled if the client disconnects.
    """
    check_user(principal, req.user_id)
    constraints = req.effective_constraints()

    def answer_once() -> Recommendations:
        # never raises for LLM trouble: the agent's turn decides degradation (plan-first, ``degraded``)
        return services.agent.recommend(req.user_id, constraints, explain=req.explain, use_llm=req.llm)

    uses_llm = req.llm and req.explain and await run_in_threadpool(lambda: services.agent.llm is not None)
    if uses_llm:
        run = TurnRun(turns, request, lambda: iter([answer_once()]))
        (answer,) = await run.collect()
    else:  # plan-first: no LLM call to bound or cancel
        answer = await run_in_threadpool(answer_once)
    metrics.observe_answer("recommend", answer.degraded, answer.llm_calls, answer.tool_calls)
    return answer
