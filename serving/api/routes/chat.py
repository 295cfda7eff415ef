"""``POST /v1/chat``: one chat turn, streamed as server-sent events.

Events, in order: ``session`` (the session id, created when omitted), then ``token``,
``tool_call`` and ``tool_result`` as they happen, then one ``final`` with the structured
``Recommendations``; or ``error`` with ``{"error": {...}}`` if the turn failed after starting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from evorec.errors import NotFoundError
from evorec.serving.api.auth import Principal, check_user, require_principal
from evorec.serving.api.deps import get_metrics, get_services
from evorec.serving.api.engines import Engines
from evorec.serving.api.metrics import ApiMetrics
from evorec.serving.api.protocol import ChatRequest, new_session_id
from evorec.serving.api.streaming import chat_turn
from evorec.serving.api.turns import TurnGate, TurnRun, get_turn_gate
from evorec.serving.wire.sse import SSE_HEADERS, sse

router = APIRouter(tags=["chat"])


def ensure_session_owner(services: Engines, session_id: str, user_id: str) -> None:
    """A session is bound to one user for life; refuse (before streaming starts) to mix users."""
    try:
        session = services.agent.get_session(session_id)
    except NotFoundError:
        return
    if session.user_id != user_id:
        raise HTTPException(409, f"session {session_id!r} belongs to another user")


@router.post("/v1/chat", response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "SSE stream: session, token, tool_call, tool_result, final | error"},
                        401: {"description": "Missing or invalid API key"},
                        403: {"description": "Key may not act for this user"},
                        409: {"description": "Session belongs to another user"},
                        429: {"description": "Too many turns running; see Retry-After"}})
async def chat(req: ChatRequest, request: Request, principal: Principal = Depends(require_principal),
               services: Engines = Depends(get_services), metrics: ApiMetrics = Depends(get_metrics),
               turns: TurnGate = Depends(get_turn_gate)) -> StreamingResponse:
    check_user(principal, req.user_id)
    session_id = req.session_id or new_session_id()
    await run_in_threadpool(ensure_session_owner, services, session_id, req.user_id)
    run = TurnRun(turns, request, lambda: chat_turn(services, metrics, "chat", session_id, req.user_id, req.message))

    async def frames() -> AsyncIterator[str]:
        yield sse({"session_id": session_id, "user_id": req.user_id}, "session")
        async for item in run.items():
            yield sse(item.payload, item.kind)

    return StreamingResponse(frames(), media_type="text/event-stream", headers=SSE_HEADERS)
