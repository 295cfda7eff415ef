"""Server-sent events framing (``event:``/``data:`` lines) and standard JSON text, for both servers' streams."""

from __future__ import annotations

import json
import math
from typing import Any

from pydantic import BaseModel

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}
DONE = "[DONE]"


def finite(value: Any) -> Any:
    """``value`` with every NaN/inf float replaced by None (standard JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def json_text(payload: Any) -> str:
    """Compact standard JSON (UTF-8 text as is; NaN/inf from a numeric model become null, never an error)."""
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    try:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(finite(payload), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def sse(data: Any, event: str | None = None) -> str:
    """One SSE frame; ``data`` is JSON-encoded (a str is sent as-is, e.g. ``[DONE]``)."""
    text = data if isinstance(data, str) else json_text(data)
    lines = [f"event: {event}"] if event else []
    lines += [f"data: {line}" for line in text.split("\n")]
    return "\n".join(lines) + "\n\n"
