"""``GET /healthz`` (store, LLM endpoint, artifacts) and ``GET /metrics`` (Prometheus).

``/healthz`` answers anyone with the status and each component's ok/not-ok; the details (store
path, LLM URL, error texts, artifact info) go only to an admin principal: the admin key, or, in open
mode, the loopback caller that already holds every right there (the request guard keeps other
sites' pages out).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from evorec import __version__
from evorec.serving.api.auth import optional_principal
from evorec.serving.api.deps import get_metrics, get_services
from evorec.serving.api.engines import Engines
from evorec.serving.api.llm_health import probe_llm
from evorec.serving.api.metrics import ApiMetrics
from evorec.serving.api.protocol import ComponentHealth, Health

router = APIRouter(tags=["health"])

def _toolbox_components(services: Engines) -> dict[str, ComponentHealth]:
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
def healthz(request: Request, services: Engines = Depends(get_services)) -> JSONResponse:
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
    principal = optional_principal(request)
    if principal is None or not principal.admin:
        components = {name: ComponentHealth(ok=c.ok) for name, c in components.items()}
    health = Health(status=status, version=__version__, dataset=settings.dataset,
                    auth="api_keys" if request.app.state.keyring.enabled else "open", components=components)
    return JSONResponse(health.model_dump(mode="json"), status_code=503 if status == "unavailable" else 200)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(m: ApiMetrics = Depends(get_metrics)) -> Response:
    return m.render()
