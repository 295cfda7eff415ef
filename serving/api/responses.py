"""The default JSON response: standard JSON always (NaN/inf from a numeric model become null, never a 500)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from evorec.serving.wire.sse import json_text


class SafeJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json_text(content).encode("utf-8")
