"""A stand-in OpenAI-compatible LLM server process, for outage tests where llama.cpp is not installed.

Run as ``python tests/test_api_standin_llm.py PORT [DELAY_S [CHUNK_DELAY_S]]`` (DELAY_S: think time per call;
CHUNK_DELAY_S: a pause before each streamed chunk, a slow model trickling tokens). ``GET /stats`` counts the
streams started, finished, and abandoned by their client (the turn-cancellation tests read it).
It speaks the chat-completions protocol (non-streaming and SSE) and answers deterministically
from the request itself: tool-selection calls get no tool calls (the agent's pre-run tools
suffice); ``response_format`` calls get a JSON answer built from the schema's enums
(candidate item ids, evidence ids). It exists so that a real process can be killed
mid-conversation; answer quality is not what these tests measure. When ``make llm`` has
installed llama.cpp, the outage test uses the real local server instead.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse


def answer_from_schema(schema: dict[str, Any]) -> str:
    props = schema.get("properties", {})
    items_schema = props.get("items", {})
    item_props = items_schema.get("items", {}).get("properties", {})
    ids = item_props.get("item_id", {}).get("enum", [])
    ev = item_props.get("evidence_ids", {}).get("items", {}).get("enum", [])
    k = int(items_schema.get("maxItems", 3))
    items = [{"item_id": i, "rationale": "It fits the recent direction of your interests.",
              "evidence_ids": ev[:1]} for i in ids[:min(k, 3)]]
    return json.dumps({"message": "Here are a few picks that follow your recent interests.", "items": items,
                       "interest_summary": "Your interests are shifting; these follow the new direction."})


def build_app(delay_s: float = 0.0, chunk_delay_s: float = 0.0) -> FastAPI:
    app = FastAPI()
    stats = {"calls": 0, "streams_started": 0, "streams_finished": 0, "streams_abandoned": 0, "chunks_sent": 0}

    @app.get("/stats")
    def get_stats() -> dict[str, int]:
        return stats

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": "standin", "object": "model", "created": 0, "owned_by": "test"}]}

    @app.post("/v1/chat/completions")
    async def complete(request: Request) -> Any:
        body = await request.json()
        stats["calls"] += 1
        await asyncio.sleep(delay_s)
        rf = body.get("response_format") or {}
        schema = (rf.get("json_schema") or {}).get("schema") or rf.get("schema")
        content = answer_from_schema(schema) if schema else ""
        cid, created = "chatcmpl-" + uuid.uuid4().hex[:12], int(time.time())
        if not body.get("stream"):
            return JSONResponse({"id": cid, "object": "chat.completion", "created": created, "model": "standin",
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": content}}],
                                 "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

        async def frames():
            stats["streams_started"] += 1
            try:
                for i in range(0, max(len(content), 1), 16):
                    await asyncio.sleep(chunk_delay_s)
                    delta = {"role": "assistant", "content": content[i:i + 16]} if i == 0 else {
                        "content": content[i:i + 16]}
                    stats["chunks_sent"] += 1
                    yield "data: " + json.dumps({"id": cid, "object": "chat.completion.chunk", "created": created,
                                                 "model": "standin",
                                                 "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                                                ) + "\n\n"
                yield "data: " + json.dumps({"id": cid, "object": "chat.completion.chunk", "created": created,
                                             "model": "standin",
                                             "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}) + "\n\n"
                yield "data: [DONE]\n\n"
                stats["streams_finished"] += 1
            except (asyncio.CancelledError, GeneratorExit):  # the client went away mid-stream
                stats["streams_abandoned"] += 1
                raise

        return StreamingResponse(frames(), media_type="text/event-stream")

    return app


if __name__ == "__main__":
    import uvicorn

    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    chunk_delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    uvicorn.run(build_app(delay, chunk_delay), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
