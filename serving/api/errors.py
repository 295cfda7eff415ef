"""JSON error bodies for every failure; no stack trace ever reaches a client.

The body is :mod:`evorec.serving.wire.errors`' (OpenAI-compatible, shared with the local LLM server):
``{"error": {"message": str, "type": str, "param": str | null, "code": int}}``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from evorec.errors import EvorecError, StoreUnavailableError
from evorec.serving.wire.errors import error_response

log = logging.getLogger("evorec.api")


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    # the specific complaints first: with a union body (one event or a batch) the alternative's "missing" and
    # "extra" errors would otherwise crowd out what is actually wrong with the value sent
    errors = sorted(exc.errors(), key=lambda e: e.get("type") in {"missing", "extra_forbidden"})
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {str(err.get('msg', 'invalid')).removeprefix('Value error, ')}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def is_store_down(exc: BaseException) -> bool:
    """Connection failures from the Chroma client that escaped the toolbox's own mapping."""
    name = type(exc).__name__
    text = str(exc).lower()
    return name in {"ConnectError", "ConnectTimeout", "RemoteProtocolError"} or (
        "could not connect to" in text and "chroma" in text
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, _validation_message(exc), "validation_error")

    @app.exception_handler(EvorecError)
    async def _evorec(_: Request, exc: EvorecError) -> JSONResponse:
        status = exc.http_status
        return error_response(status, str(exc) or type(exc).__name__, type(exc).__name__)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        kinds = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
        return error_response(exc.status_code, message, kinds.get(exc.status_code, "http_error"),
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_store_down(exc):
            err = StoreUnavailableError(f"history store unavailable: {exc}")
            return error_response(503, str(err), type(err).__name__)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error; the server log has the details", "internal_error")
