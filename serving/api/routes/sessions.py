"""``GET/DELETE /v1/sessions/{session_id}``: a chat session's turns and accumulated preferences."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path

from evorec.agent import Session
from evorec.errors import NotFoundError
from evorec.serving.api.auth import Principal, check_user, require_principal
from evorec.serving.api.deps import get_services
from evorec.serving.api.engines import Engines
from evorec.serving.api.protocol import SessionDeleted

router = APIRouter(tags=["sessions"])

SessionPath = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


@router.get("/v1/sessions/{session_id}", response_model=Session,
            responses={404: {"description": "No such session"}, 401: {}, 403: {}})
def get_session(session_id: str = SessionPath, principal: Principal = Depends(require_principal),
                services: Engines = Depends(get_services)) -> Session:
    session = services.agent.get_session(session_id)
    check_user(principal, session.user_id)
    return session


@router.delete("/v1/sessions/{session_id}", response_model=SessionDeleted,
               responses={404: {"description": "No such session"}, 401: {}, 403: {}})
def delete_session(session_id: str = SessionPath, principal: Principal = Depends(require_principal),
                   services: Engines = Depends(get_services)) -> SessionDeleted:
    session = services.agent.get_session(session_id)  # NotFoundError → 404
    check_user(principal, session.user_id)
    if not services.agent.delete_session(session_id):
        raise NotFoundError(f"no session {session_id!r}")
    return SessionDeleted(session_id=session_id, deleted=True)
