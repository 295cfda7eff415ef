"""Is the configured LLM endpoint up? A cheap ``GET /models`` probe for /healthz, cached briefly.

A degraded answer (the agent could not use the LLM) drops the cache, so /healthz reports an
outage at once rather than after the cache expires.
"""

from __future__ import annotations

import time

import httpx

from evorec.serving.api.protocol import ComponentHealth
from evorec.settings import Settings

_LLM_PROBE_TTL_S = 5.0
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


def forget_llm_probe() -> None:
    _llm_probe_cache.clear()
