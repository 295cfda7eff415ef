"""``GET /healthz`` (store, LLM endpoint, artifacts) and ``GET /metrics`` (Prometheus)."""

from __future__ import annotations

import time

import httpx
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from evorec import __version__
from evorec.serving.api.deps import get_metrics, get_services
from evorec.serving.api.metrics import ApiMetrics
from evorec.serving.api.protocol import ComponentHealth, Health
from evorec.serving.api.services import Services
from evorec.settings import Settings

router = APIRouter(tags=["health"])

_LLM_PROBE_TTL_S = 10.0
_llm_probe_cache: dict[str, tuple[float, ComponentHealth]] = {}


def probe_llm(settings: Settings) -> ComponentHealth:
    """Is the configured OpenAI-compatible endpoint answering ``GET /models``? Cached for a few seconds."""
    if settings.llm == "none" or not settings.llm_url:
        return ComponentHealth(ok=True, detail="no LLM configured: answers come from the plan-first executor",
                               info={"configured": False})
    url = settings.llm_url.rstrip("/")
    hit = _llm_probe_cache.get(url)
    if hit and time.monotonic() - hit[0] < _LLM_PROBE_TTL_S:
        return hit[1]
    try:
        headers = {"Authorization": f"Bearer {settings.llm_api_key.get_secret_value()}"}
        r = httpx.get(f"{url}/models", timeout=2.0, headers=headers)
        r.raise_for_status()
        models = [m.get("id") for m in r.json().get("data", []) if isinstance(m, dict)]
        result = ComponentHealth(ok=True, detail=f"{url} answers", info={"configured": True, "models": models})
    except (httpx.HTTPError, ValueError) as e:
        result = ComponentHealth(ok=False, detail=f"{url} unreachable ({type(e).__name__}); answers are degraded",
                                 info={"configured": True})
    _llm_probe_cache[url] = (time.monotonic(), result)
    return result


def _toolbox_components(services: Services) -> dict[str, ComponentHealth]:
    try:
        report = services.toolbox.health()
    except Exception as e:  # health must answer whatever is broken
        return {"store": ComponentHealth(ok=False, detail=f"{type(e).__name__}: {e}"[:300])}
    store = dict(report.get("store") or {})
    store_ok = bool(store.pop("ok", False))
    forecaster = report.get("forecaster") or {}
    fusion = report.get("fusion") or {}
    artifacts_ok = bool(forecaster.get("loaded")) and bool(fusion.get("fitted"))
    missing = [name for name, ok in (("forecaster", forecaster.get("loaded")), ("fusion ranker", fusion.get("fitted")))
               if not ok]
    return {
        "store": ComponentHealth(ok=store_ok, detail=str(store.get("error", "")) if not store_ok else "",
                                 info={**store, "cached_users": report.get("cached_users")}),
        "artifacts": ComponentHealth(ok=artifacts_ok, info={"forecaster": forecaster, "fusion": fusion},
                                     detail="" if artifacts_ok else f"missing {', '.join(missing)}: ranking degraded; "
                                     "run `evorec train` (or POST /v1/admin/retrain)"),
    }


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
def healthz(request: Request, services: Services = Depends(get_services)) -> JSONResponse:
    settings = services.settings
    components = _toolbox_components(services)
    components["llm"] = probe_llm(settings)
    store_ok = components["store"].ok
    if not store_ok:
        status = "unavailable"
    elif all(c.ok for c in components.values()):
        status = "ok"
    else:
        status = "degraded"
    health = Health(status=status, version=__version__, dataset=settings.dataset,
                    auth="api_keys" if request.app.state.keyring.enabled else "open", components=components)
    return JSONResponse(health.model_dump(mode="json"), status_code=503 if status == "unavailable" else 200)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(m: ApiMetrics = Depends(get_metrics)) -> Response:
    return m.render()
