"""Server-sent events framing (``event:``/``data:`` lines), shared by /v1/chat and the OpenAI facade."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from evorec.serving.api.responses import finite

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}


def to_jsonable(payload: Any) -> Any:
    if isinstance(payload, BaseModel):
        return payload.model_dump(mode="json")
    return payload


def sse(data: Any, event: str | None = None) -> str:
    """One SSE frame; ``data`` is JSON-encoded (a str is sent as-is, e.g. ``[DONE]``)."""
    if isinstance(data, str):
        text = data
    else:
        payload = to_jsonable(data)
        try:
            text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except ValueError:  # NaN/inf from a numeric model: standard JSON has null for them
            text = json.dumps(finite(payload), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    lines = [f"event: {event}"] if event else []
    lines += [f"data: {line}" for line in text.split("\n")]
    return "\n".join(lines) + "\n\n"
