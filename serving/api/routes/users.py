"""Per-user routes: ``GET /v1/users/{id}/interests`` (+ ``.png`` chart) and ``DELETE /v1/users/{id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from evorec.errors import ArtifactError
from evorec.serving.api.auth import Principal, check_user, require_principal
from evorec.serving.api.charts import render_interest_png
from evorec.serving.api.deps import get_services
from evorec.serving.api.engines import Engines
from evorec.serving.api.links import FORGET_LINKS
from evorec.serving.api.protocol import UserDeleted, UserId
from evorec.tools import InterestForecast, UserHistory, UserTrends

router = APIRouter(tags=["users"])

UserPath = Annotated[UserId, Path(description="The user id (no slashes, control or bidi characters).")]
HISTORY_FOR_CHART = 2000


class Interests(BaseModel):
    user_id: str
    known: bool
    trends: UserTrends = Field(description="Per-category trend fits (statsmodels), labels and forecasts.")
    forecast: InterestForecast | None = Field(description="The sequence forecaster's current vs forecast category "
                                                          "mix; null when no forecaster is trained (see notes).")
    notes: list[str] = Field(default_factory=list)


def _forecast(services: Engines, user_id: str) -> tuple[InterestForecast | None, list[str]]:
    try:
        return services.toolbox.forecast_interests(user_id), []
    except ArtifactError as e:
        return None, [str(e)]


class UserList(BaseModel):
    dataset: str
    users: list[str] = Field(description="Most active users first (the dataset's; adaptively added users not listed).")


@router.get("/v1/users", response_model=UserList, responses={401: {}, 503: {}})
def list_users(limit: int = Query(20, ge=1, le=500), principal: Principal = Depends(require_principal),
               services: Engines = Depends(get_services)) -> UserList:
    """Some user ids to try (the web page's picker). A key restricted to users sees only those."""
    tb = services.toolbox
    if principal.users is not None:
        return UserList(dataset=tb.dataset_name, users=sorted(principal.users)[:limit])
    return UserList(dataset=tb.dataset_name, users=tb.active_users(limit))


@router.get("/v1/users/{user_id}/history", response_model=UserHistory, responses={401: {}, 403: {}, 503: {}})
def history(user_id: UserPath, limit: int = Query(50, ge=1, le=5000),
            query: str | None = Query(None, min_length=1, max_length=300,
                                      description="Semantic search inside the history."),
            principal: Principal = Depends(require_principal), services: Engines = Depends(get_services),
            ) -> UserHistory:
    """The user's events from the store, oldest first (or by similarity to ``query``)."""
    check_user(principal, user_id)
    return services.toolbox.get_user_history(user_id, limit=limit, query=query)


@router.get("/v1/users/{user_id}/interests", response_model=Interests, responses={401: {}, 403: {}, 503: {}})
def interests(user_id: UserPath, principal: Principal = Depends(require_principal),
              services: Engines = Depends(get_services)) -> Interests:
    """The user's category trends (statsmodels) and interest forecast (torch) as JSON."""
    check_user(principal, user_id)
    tb = services.toolbox
    trends = tb.detect_trends(user_id)
    forecast, notes = _forecast(services, user_id)
    return Interests(user_id=user_id, known=bool(tb.known_user(user_id)), trends=trends, forecast=forecast,
                     notes=notes)


@router.get("/v1/users/{user_id}/interests.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}, 401: {}, 403: {}, 503: {}})
def interests_png(user_id: UserPath, principal: Principal = Depends(require_principal),
                  services: Engines = Depends(get_services)) -> Response:
    """The interest-evolution chart: category shares over time, forecast with band, trend labels."""
    check_user(principal, user_id)
    tb = services.toolbox
    history = tb.get_user_history(user_id, limit=HISTORY_FOR_CHART)
    trends = tb.detect_trends(user_id)
    forecast, _ = _forecast(services, user_id)
    png = render_interest_png(user_id, trends, forecast, list(history.events))
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.delete("/v1/users/{user_id}", response_model=UserDeleted,
                responses={200: {"links": FORGET_LINKS}, 401: {}, 403: {}, 503: {}})
def forget_user(user_id: UserPath, principal: Principal = Depends(require_principal),
                services: Engines = Depends(get_services)) -> UserDeleted:
    """Forget the user everywhere: events in the store (with a tombstone, so no re-ingest, retrain or restart
    brings them back), the saved training delta, every worker's caches, chat sessions. The answer counts what
    was removed per place; model weights lose the user's influence at the next retrain."""
    check_user(principal, user_id)
    with services.write_lock:
        report = services.toolbox.delete_user(user_id)
    sessions = services.agent.delete_user_sessions(user_id)
    details = report.model_dump(mode="json") if isinstance(report, BaseModel) else {"report": str(report)}
    events = int(details.get("events_deleted", details.get("events", 0)) or 0)
    removed = {**{k: int(v) for k, v in (details.get("removed") or {}).items()}, "sessions": sessions}
    return UserDeleted(user_id=user_id, events_deleted=events, sessions_deleted=sessions,
                       tombstone=bool(details.get("tombstone")), removed=removed,
                       models=str(details.get("models") or ""), details=details)
