"""``POST /v1/recommend``: the structured answer for one user, programmatically."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from evorec.agent import Recommendations
from evorec.serving.api.auth import Principal, check_user, require_principal
from evorec.serving.api.deps import get_metrics, get_services
from evorec.serving.api.engines import Engines
from evorec.serving.api.llm_fallback import recommend_with_fallback
from evorec.serving.api.metrics import ApiMetrics
from evorec.serving.api.protocol import RecommendRequest

router = APIRouter(tags=["recommend"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"}, 403: {"description": "Key may not act for this user"},
    503: {"description": "History store unavailable"}}


@router.post("/v1/recommend", response_model=Recommendations, responses=ERRORS)
def recommend(req: RecommendRequest, principal: Principal = Depends(require_principal),
              services: Engines = Depends(get_services),
              metrics: ApiMetrics = Depends(get_metrics)) -> Recommendations:
    """Ranked items with scores, sources, rationales grounded in evidence, and the interest-evolution summary.

    Unknown users get a cold-start answer (``cold_start``); without a reachable LLM (or with ``llm: false``)
    the plan-first executor answers and ``degraded`` is set.
    """
    check_user(principal, req.user_id)
    answer = recommend_with_fallback(services, req.user_id, req.effective_constraints(), explain=req.explain,
                                     use_llm=req.llm)
    metrics.observe_answer("recommend", answer.degraded, answer.llm_calls, answer.tool_calls)
    return answer
