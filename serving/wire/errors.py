"""The one error body both servers answer with (OpenAI's shape, so OpenAI clients surface the message):
``{"error": {"message": str, "type": str, "param": str | null, "code": int}}`` (``code``: the HTTP status)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: int


class ErrorBody(BaseModel):
    error: ErrorDetail


def error_body(status: int, message: str, kind: str, param: str | None = None) -> dict[str, Any]:
    return ErrorBody(error=ErrorDetail(message=message, type=kind, param=param, code=status)).model_dump()


def error_response(status: int, message: str, kind: str, headers: dict[str, str] | None = None,
                   param: str | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message, kind, param), status_code=status, headers=headers)
