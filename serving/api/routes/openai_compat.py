"""OpenAI-compatible facade: ``POST /v1/chat/completions`` (model ``evorec``) and ``GET /v1/models``.

Any OpenAI client or chat UI can talk to the agent. The evorec user comes from the
``X-Evorec-User`` header or the request's ``user`` field. OpenAI clients resend the whole
conversation each turn; the agent keeps its own session, named by ``X-Evorec-Session``
or, when absent, derived from the user and the conversation's first user message, so
successive turns of one conversation share preferences. Only the last user message is
new input. The reply text is the rendered answer; ``evorec`` in the response (and in
the last stream chunk) carries the structured ``Recommendations``.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from evorec.agent import Recommendations
from evorec.errors import EvorecError, InvalidRequestError
from evorec.serving.api.auth import Principal, check_user, require_principal
from evorec.serving.api.deps import get_metrics, get_services
from evorec.serving.api.engines import Engines
from evorec.serving.api.metrics import ApiMetrics
from evorec.serving.api.protocol import FacadeChatRequest, FacadeCompletion, FacadeCompletionChunk, UserId
from evorec.serving.api.render import answer_body, answer_text
from evorec.serving.api.routes.chat import ensure_session_owner
from evorec.serving.api.streaming import chat_turn
from evorec.serving.api.turns import TurnGate, TurnRun, get_turn_gate
from evorec.serving.wire.openai_types import AssistantMessage, Choice, ChunkChoice, DeltaMessage, ModelCard, ModelList
from evorec.serving.wire.sse import DONE, SSE_HEADERS, sse

router = APIRouter(tags=["openai"])

MODEL = "evorec"
STARTED = int(time.time())
_CHUNK_CHARS = 48


def _session_for(req: FacadeChatRequest, user_id: str, header: str | None) -> str:
    if header:
        return header
    first = next(m.text().strip() for m in req.messages if m.role == "user" and m.text().strip())
    return "oai-" + hashlib.sha1(f"{user_id}\x1f{first}".encode()).hexdigest()[:16]


def _resolve_user(req: FacadeChatRequest, header: str | None) -> str:
    from pydantic import TypeAdapter, ValidationError

    user = header or req.user
    if not user:
        raise InvalidRequestError("name the evorec user: the 'user' field or the X-Evorec-User header")
    try:
        return TypeAdapter(UserId).validate_python(user)
    except ValidationError as e:
        why = e.errors()[0].get("msg", "invalid").removeprefix("Value error, ")
        raise InvalidRequestError(f"X-Evorec-User: {why}") from None


def _pieces(text: str) -> Iterator[str]:
    for i in range(0, len(text), _CHUNK_CHARS):
        yield text[i:i + _CHUNK_CHARS]


@router.get("/v1/models", response_model=ModelList)
def list_models(_: Principal = Depends(require_principal)) -> ModelList:
    return ModelList(data=[ModelCard(id=MODEL, created=STARTED)])


@router.post("/v1/chat/completions", response_model=FacadeCompletion,
             responses={200: {"content": {"text/event-stream": {}}}, 400: {}, 401: {}, 403: {}, 404: {}, 409: {},
                        429: {"description": "Too many agent turns running; see Retry-After"}})
async def chat_completions(req: FacadeChatRequest, request: Request,
                           principal: Principal = Depends(require_principal),
                           services: Engines = Depends(get_services), metrics: ApiMetrics = Depends(get_metrics),
                           turns: TurnGate = Depends(get_turn_gate),
                           x_evorec_user: str | None = Header(None, max_length=128),
                           x_evorec_session: str | None = Header(None, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$"),
                           ) -> FacadeCompletion | StreamingResponse:
    if req.model != MODEL:
        raise HTTPException(404, f"model {req.model!r} does not exist; use {MODEL!r}")
    user_id = _resolve_user(req, x_evorec_user)
    check_user(principal, user_id)
    session_id = _session_for(req, user_id, x_evorec_session)
    await run_in_threadpool(ensure_session_owner, services, session_id, user_id)
    message = req.last_user_text()
    cid = "chatcmpl-" + uuid.uuid4().hex[:24]
    created = int(time.time())
    run = TurnRun(turns, request, lambda: chat_turn(services, metrics, "openai", session_id, user_id, message))

    if not req.stream:
        answer: Recommendations | None = None
        for item in await run.collect():
            if item.kind == "error":
                err = item.payload["error"]
                raise _Relay(err["code"], err["message"])
            if item.answer is not None:
                answer = item.answer
        if answer is None:
            raise _Relay(500, "the agent finished without an answer")
        text = answer_text(answer)
        return FacadeCompletion(id=cid, created=created, model=MODEL,
                                choices=[Choice(message=AssistantMessage(content=text))],
                                evorec=answer.model_dump(mode="json"))

    def chunk(delta: DeltaMessage, finish: Literal["stop"] | None = None, extra: dict | None = None) -> str:
        c = FacadeCompletionChunk(id=cid, created=created, model=MODEL,
                                  choices=[ChunkChoice(delta=delta, finish_reason=finish)], evorec=extra)
        return sse(c.model_dump(mode="json", exclude_none=True))

    async def frames() -> AsyncIterator[str]:
        yield chunk(DeltaMessage(role="assistant", content=""))
        streamed: list[str] = []
        async for item in run.items():
            if item.kind == "error":
                yield sse(item.payload)
                break
            if item.kind == "token" and item.text:  # the answer's message, live as the model writes it
                streamed.append(item.text)
                yield chunk(DeltaMessage(content=item.text))
            elif item.answer is not None:
                said = "".join(streamed).strip()
                if said and said == (item.answer.message or "").strip():
                    tail = "\n\n" + answer_body(item.answer) + "\n"
                else:  # nothing streamed, or the validator replaced what was streamed: send the whole answer
                    tail = ("\n\n" if said else "") + answer_text(item.answer)
                for piece in _pieces(tail):
                    yield chunk(DeltaMessage(content=piece))
                yield chunk(DeltaMessage(), "stop", {"session_id": session_id,
                                                     "answer": item.answer.model_dump(mode="json")})
        yield sse(DONE)

    return StreamingResponse(frames(), media_type="text/event-stream", headers=SSE_HEADERS)


class _Relay(EvorecError):
    """An error the stream reported, re-raised with its status for the non-streaming reply."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = status
