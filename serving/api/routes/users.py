"""Per-user routes: ``GET /v1/users/{id}/interests`` (+ ``.png`` chart) and ``DELETE /v1/users/{id}``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from pydantic import BaseModel

from evorec.serving.api.auth import Principal, check_user, require_principal
from evorec.serving.api.charts import render_interest_png
from evorec.serving.api.deps import get_services
from evorec.serving.api.protocol import UserDeleted
from evorec.serving.api.services import Services

router = APIRouter(tags=["users"])

UserPath = Path(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f/\\]+$")
HISTORY_FOR_CHART = 2000


class Interests(BaseModel):
    user_id: str
    known: bool
    trends: dict[str, Any]
    forecast: dict[str, Any]


def _labels_and_bands(trends: Any) -> tuple[dict[str, str], dict[str, tuple[float, float]]]:
    labels: dict[str, str] = {}
    bands: dict[str, tuple[float, float]] = {}
    for t in getattr(trends, "categories", None) or []:
        cat = getattr(t, "category", None)
        if not cat:
            continue
        label = getattr(t, "label", None)
        if label:
            labels[cat] = str(label)
        lo, hi = getattr(t, "interval_low", None), getattr(t, "interval_high", None)
        if lo is not None and hi is not None:
            bands[cat] = (float(lo), float(hi))
    return labels, bands


@router.get("/v1/users/{user_id}/interests", response_model=Interests, responses={401: {}, 403: {}, 503: {}})
def interests(user_id: str = UserPath, principal: Principal = Depends(require_principal),
              services: Services = Depends(get_services)) -> Interests:
    """The user's category trends (statsmodels) and interest forecast (torch) as JSON."""
    check_user(principal, user_id)
    tb = services.toolbox
    trends = tb.detect_trends(user_id)
    forecast = tb.forecast_interests(user_id)
    return Interests(user_id=user_id, known=bool(tb.known_user(user_id)), trends=trends.model_dump(mode="json"),
                     forecast=forecast.model_dump(mode="json"))


@router.get("/v1/users/{user_id}/interests.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}, 401: {}, 403: {}, 503: {}})
def interests_png(user_id: str = UserPath, principal: Principal = Depends(require_principal),
                  services: Services = Depends(get_services)) -> Response:
    """The interest-evolution chart: category shares over time, forecast with band, trend labels."""
    check_user(principal, user_id)
    tb = services.toolbox
    history = tb.get_user_history(user_id, limit=HISTORY_FOR_CHART)
    trends = tb.detect_trends(user_id)
    forecast = tb.forecast_interests(user_id)
    labels, bands = _labels_and_bands(trends)
    png = render_interest_png(user_id, list(history.events), forecast.forecast_mix, forecast.current_mix, labels,
                              bands, cold_start=forecast.cold_start)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.delete("/v1/users/{user_id}", response_model=UserDeleted, responses={401: {}, 403: {}, 503: {}})
def forget_user(user_id: str = UserPath, principal: Principal = Depends(require_principal),
                services: Services = Depends(get_services)) -> UserDeleted:
    """Forget the user everywhere: events in the store, cached trends/forecasts, chat sessions."""
    check_user(principal, user_id)
    with services.write_lock:
        report = services.toolbox.delete_user(user_id)
    sessions = services.agent.delete_user_sessions(user_id)
    details = report.model_dump(mode="json") if isinstance(report, BaseModel) else {"report": str(report)}
    events = int(details.get("events_deleted", details.get("events", 0)) or 0)
    return UserDeleted(user_id=user_id, events_deleted=events, sessions_deleted=sessions, details=details)
