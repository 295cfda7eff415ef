"""evorec's own OpenAI-compatible chat server around ``llama_cpp.Llama`` (CPU default backend): HTTP and CLI.

Why not llama-cpp-python's bundled server: measured with 0.3.36, its function-calling chat
handler drops ``role: tool`` messages (the model never sees tool results), and it rejects
assistant ``content: null`` and ``response_format: json_schema`` — all three are what
OpenAI clients and LangChain send. This server renders the model's own Qwen/Hermes tool
format (``chat_format.py``), plans each request (``request_plan.py``: free text with tool calls
parsed out, JSON or a forced call under a grammar from ``grammars.py``) and generates with one model
instance whose KV cache is reused across calls that share the (stable) system+tools prefix (``engine.py``).

Endpoints: ``GET /health`` (always open: the launcher polls it), ``GET /v1/models``, ``POST /v1/chat/completions``
(non-streaming and SSE streaming). Safety: it listens on loopback unless an API key is configured
(``--api-key`` / ``EVOREC_LLM_API_KEY``, then required as ``Authorization: Bearer``); the key is checked before
the body is read; bodies over ``--max-body-bytes`` are refused before parsing, and requests for more tokens than
the context window are refused. Run: ``python -m evorec.serving.llm.local_server --model PATH``.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from evorec.serving.llm.engine import Engine, ServerConfig
from evorec.serving.llm.request_plan import RequestError, plan_request
from evorec.serving.wire.errors import error_body, error_response
from evorec.serving.wire.openai_types import ChatCompletionRequest, ModelCard, ModelList
from evorec.serving.wire.sse import DONE, SSE_HEADERS, json_text, sse

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class ServerLimits(BaseModel):
    api_key: str | None = Field(None, description="When set, /v1/* needs 'Authorization: Bearer <key>'.")
    max_body_bytes: int = Field(1 << 20, ge=1024, description="Bigger request bodies get 413, unread.")


class BodyTooLargeError(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (before it is all read) past ``limit`` bytes, declared or streamed."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            raise BodyTooLargeError
    return bytes(body)


def bearer_ok(request: Request, key: str | None) -> bool:
    if key is None:
        return True
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), key.encode())


def unauthorized() -> JSONResponse:
    return error_response(401, "missing or invalid API key (send 'Authorization: Bearer <key>')", "invalid_api_key",
                          headers={"WWW-Authenticate": "Bearer"})


def create_app(engine: Engine, limits: ServerLimits | None = None) -> FastAPI:
    limits = limits or ServerLimits()
    app = FastAPI(title="evorec local LLM", version="1")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), "invalid_request_error")

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "model": engine.config.model_id, **engine.stats,
                **getattr(engine.llm, "grammar_counters", {})}

    @app.get("/v1/models", response_model=ModelList)
    def models(request: Request) -> Any:
        if not bearer_ok(request, limits.api_key):
            return unauthorized()
        return ModelList(data=[ModelCard(id=engine.config.model_id, created=engine.created)])

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        if not bearer_ok(request, limits.api_key):  # before a byte of the body is read
            return unauthorized()
        try:
            raw = await read_body(request, limits.max_body_bytes)
        except BodyTooLargeError:
            return error_response(413, f"request body over {limits.max_body_bytes} bytes", "invalid_request_error")
        try:
            req = ChatCompletionRequest.model_validate_json(raw)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(map(str, first["loc"])) or "body"
            return error_response(400, f"{where}: {first['msg']}", "invalid_request_error")
        wanted = req.requested_tokens
        if wanted is not None and wanted > engine.token_limit():
            return error_response(400, f"max_tokens {wanted} is more than this server can generate "
                                       f"({engine.token_limit()}, its context window)", "invalid_request_error",
                                  param="max_tokens")
        try:
            plan_request(req)  # validate before committing to a streaming response
        except RequestError as e:
            return error_response(400, str(e), "invalid_request_error", param=e.param)
        if req.stream:
            return StreamingResponse(_frames(engine, req), media_type="text/event-stream", headers=SSE_HEADERS)
        try:
            done = await run_in_threadpool(engine.complete, req)
        except RequestError as e:
            return error_response(400, str(e), "invalid_request_error", param=e.param)
        return Response(json_text(done), media_type="application/json")

    return app


def _frames(engine: Engine, req: ChatCompletionRequest) -> Iterator[str]:
    chunks = engine.stream(req)
    try:
        for c in chunks:
            yield sse(c)
    except RequestError as e:
        yield sse(error_body(400, str(e), "invalid_request_error", e.param))
    finally:
        chunks.close()  # stops generation if the client left
    yield sse(DONE)


def bind_problem(host: str, api_key: str | None) -> str | None:
    """Only loopback without a key: anything that reaches the port could otherwise use the model."""
    if host not in LOOPBACK and not api_key:
        return (f"refusing to listen on {host} without an API key; set --api-key (or EVOREC_LLM_API_KEY), "
                "or bind 127.0.0.1")
    return None


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@cli.command()
def main(
    model: Annotated[Path, typer.Option(help="Path to a .gguf file.")],
    model_id: Annotated[str | None, typer.Option(help="Model name served (default: the file's stem).")] = None,
    host: Annotated[str, typer.Option(help="Bind address; other than loopback needs --api-key.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8081,
    threads: Annotated[int, typer.Option(min=1, max=256)] = 2,
    ctx: Annotated[int, typer.Option(min=512, help="Context window (tokens).")] = 8192,
    grammar: Annotated[str, typer.Option(help="Greedy grammar decoding: lazy (same tokens, faster) or stock "
                                              "(llama-cpp-python's filter).")] = "lazy",
    api_key: Annotated[str | None, typer.Option(envvar="EVOREC_LLM_API_KEY", show_envvar=True,
                                                help="Require 'Authorization: Bearer <key>' on /v1/*.")] = None,
    max_body_bytes: Annotated[int, typer.Option(min=1024, help="Largest request body accepted.")] = 1 << 20,
) -> None:
    """Serve a GGUF model over OpenAI chat-completions (tools, JSON schema, streaming)."""
    problem = bind_problem(host, api_key)
    if problem:
        fail(problem)
    if grammar not in ("lazy", "stock"):
        fail(f"--grammar must be lazy or stock, not {grammar!r}")
    if not model.is_file():
        fail(f"--model {model}: no such file")
    import uvicorn

    config = ServerConfig(model_path=model, model_id=model_id or model.stem, n_ctx=ctx, n_threads=threads,
                          grammar=grammar)
    app = create_app(Engine(config), ServerLimits(api_key=api_key or None, max_body_bytes=max_body_bytes))
    uvicorn.run(app, host=host, port=port, log_level="warning")


if __name__ == "__main__":
    cli()
