"""``X-Evorec-Worker``: which worker process answered (a random id per process, not its pid).

With ``serve --workers N`` each worker keeps its own caches; the header lets an operator or a test see which
worker served a request (e.g. to check that a forgotten user is gone from every worker).
"""

from __future__ import annotations

import uuid
from typing import Any

WORKER_ID = uuid.uuid4().hex[:12]
HEADER = b"x-evorec-worker"


class WorkerIdMiddleware:
    """Pure ASGI (no buffering, so streamed answers stay streamed)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def tagged(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (HEADER, WORKER_ID.encode())]}
            await send(message)

        await self.app(scope, receive, tagged)
