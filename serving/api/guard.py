"""The request guard: an ASGI middleware that decides before a route reads a byte of the body.

In order, for every HTTP request:

1. **Open mode** (no keys configured): the ``Host`` header must name loopback (``localhost``,
   ``127.0.0.1``, ``[::1]``) with the port the server listens on, and an ``Origin`` header, when
   sent, must be loopback too. A web page elsewhere that the operator visits can then neither read
   from the API by DNS rebinding (its Host is the attacker's name) nor POST to it (its Origin is
   the attacker's site). → 403.
2. **Keys configured**: an operation that needs a principal (its OpenAPI entry lists the key schemes,
   which every route depending on ``require_principal`` gets, so a new route is covered without a list
   to update) is refused with 401 when no valid key is presented, before its body is read. Which users
   the key may act for is the route's own check (routes hidden from the schema keep only that one).
3. **Body cap**: a ``Content-Length`` over ``max_body_bytes`` is refused at once; otherwise the body
   is read with a counter, chunked bodies included, and refused as soon as the count passes the cap
   (→ 413). The body read is handed to the app, and later ``receive`` calls (disconnects) pass through.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evorec.serving.api.auth import KeyRing, key_from_headers
from evorec.serving.api.errors import error_response

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def split_host(value: str) -> tuple[str, int | None]:
    """``host[:port]`` (``[v6]:port`` too) → (lower-case host, port or None); ValueError if malformed."""
    parts = urlsplit("//" + value)
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"no host in {value!r}")
    return host, parts.port


def loopback_host_ok(host_header: str | None, server_port: int | None, scheme: str) -> bool:
    """Host names loopback with the served port (no port: the scheme's default port)."""
    if not host_header:
        return False
    try:
        host, port = split_host(host_header)
    except ValueError:
        return False
    if host not in LOOPBACK_NAMES:
        return False
    if port is None:
        port = 443 if scheme == "https" else 80
    return server_port is None or port == server_port


def loopback_origin_ok(origin: str) -> bool:
    """An ``Origin`` on a loopback host (``null``, from sandboxed frames and files, is not)."""
    parts = urlsplit(origin)
    try:
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and host in LOOPBACK_NAMES


def protected_operations(spec: dict[str, Any]) -> list[tuple[re.Pattern[str], str]]:
    """(path regex, method) of every operation whose OpenAPI entry requires a key."""
    out = []
    for path, ops in spec.get("paths", {}).items():
        regex, _, _ = compile_path(path)
        out += [(regex, method.upper()) for method, op in ops.items() if isinstance(op, dict) and op.get("security")]
    return out


class BodyTooLarge(Exception):
    pass


class RequestGuard:
    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self._protected: list[tuple[re.Pattern[str], str]] | None = None

    # ---- helpers ----------------------------------------------------------------------------
    @property
    def keyring(self) -> KeyRing:
        return self.fastapi_app.state.keyring

    @property
    def max_body(self) -> int:
        return int(self.fastapi_app.state.settings.max_body_bytes)

    def is_protected(self, scope: Scope) -> bool:
        if self._protected is None:
            self._protected = protected_operations(self.fastapi_app.openapi())
        path, method = scope.get("path", ""), scope.get("method", "")
        return any(m == method and regex.match(path) for regex, m in self._protected)

    @staticmethod
    async def reply(scope: Scope, receive: Receive, send: Send, status: int, message: str, kind: str,
                    headers: dict[str, str] | None = None) -> None:
        response = error_response(status, message, kind, headers=headers)
        if status == 413:
            response.headers["Connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)

    # ---- the checks ---------------------------------------------------------------------------
    def open_mode_refusal(self, scope: Scope, headers: dict[str, str]) -> str | None:
        server = scope.get("server") or (None, None)
        port = server[1] if len(server) > 1 else None
        if not loopback_host_ok(headers.get("host"), port, scope.get("scheme", "http")):
            return ("the API is open (no API keys configured) and answers only requests addressed to "
                    f"localhost/127.0.0.1/[::1] on port {port}; set EVOREC_API_KEYS to serve other host names")
        origin = headers.get("origin")
        if origin is not None and not loopback_origin_ok(origin):
            return ("the API is open (no API keys configured) and refuses requests from web pages on other sites "
                    f"(Origin {origin[:100]!r})")
        return None

    async def read_capped(self, receive: Receive) -> tuple[list[Message], int]:
        """The request's body messages, counting bytes as they arrive; BodyTooLarge past the cap."""
        messages: list[Message] = []
        total = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages, total
            total += len(message.get("body", b""))
            if total > self.max_body:
                raise BodyTooLarge(total)
            if not message.get("more_body", False):
                return messages, total

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        ring = self.keyring
        if not ring.enabled:
            why = self.open_mode_refusal(scope, headers)
            if why:
                await self.reply(scope, receive, send, 403, why, "forbidden")
                return
        elif self.is_protected(scope) and ring.lookup(key_from_headers(headers)) is None:
            await self.reply(scope, receive, send, 401, "missing or invalid API key (send 'Authorization: Bearer "
                             "<key>' or 'X-API-Key: <key>')", "unauthorized", {"WWW-Authenticate": "Bearer"})
            return
        if scope.get("method") not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        cap = self.max_body
        too_large = f"request body over the {cap} byte limit (EVOREC_MAX_BODY_BYTES)"
        declared = headers.get("content-length")
        if declared is not None and (not declared.strip().isdigit() or int(declared) > cap):
            if declared.strip().isdigit():
                await self.reply(scope, receive, send, 413, too_large, "payload_too_large")
            else:
                await self.reply(scope, receive, send, 400, "malformed Content-Length", "bad_request")
            return
        try:
            messages, _ = await self.read_capped(receive)
        except BodyTooLarge:
            await self.reply(scope, receive, send, 413, too_large, "payload_too_large")
            return
        await self.app(scope, replay(messages, receive), send)


def replay(messages: list[Message], receive: Receive) -> Callable[[], Any]:
    """A ``receive`` that hands out the messages already read, then defers to the real one."""
    pending = list(messages)

    async def again() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return again


def install_guard(app: FastAPI) -> None:
    app.add_middleware(RequestGuard, fastapi_app=app)
