"""The local LLM server's safety: loopback unless keyed, the key checked, requests bounded, and no engine lock held
while a slow client reads a stream.

The model is a scripted stand-in for ``llama_cpp.Llama`` (its two methods the engine calls), so these run in the
default suite and can produce more output than socket buffers hold; everything else (the engine, the FastAPI
app, uvicorn, the CLI) is the real server. The real model's behaviour is covered by ``test_llm_local_server``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from harness.live_server import free_port
from typer.testing import CliRunner

from evorec.serving.llm.engine import Engine, ServerConfig
from evorec.serving.llm.local_server import ServerLimits, cli, create_app

ERROR_KEYS = {"message", "type", "param", "code"}


class ScriptedLlama:
    """Emits ``n`` copies of ``piece`` as its tokens (``tokenize`` counts one token per 4 bytes)."""

    def __init__(self, piece: str = "hello ", n: int = 3) -> None:
        self.piece, self.n = piece, n
        self.grammar_counters: dict[str, int] = {}
        self.started = 0

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return list(range(len(text) // 4 + 1))

    def create_completion(self, stream: bool = False, **kwargs: Any) -> Any:
        self.started += 1
        n = min(self.n, int(kwargs.get("max_tokens") or self.n))
        if not stream:
            return {"choices": [{"text": self.piece * n}], "usage": {"completion_tokens": n}}
        return iter([{"choices": [{"text": self.piece, "finish_reason": None}]} for _ in range(n)])


def engine(llm: ScriptedLlama) -> Engine:
    return Engine(ServerConfig(model_path=Path("stand-in.gguf"), model_id="stand-in", n_ctx=4096), llm=llm)


def body(**over: Any) -> dict[str, Any]:
    return {"model": "stand-in", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16, **over}


def test_host_other_than_loopback_needs_a_key(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = str(tmp_path / "none.gguf")
    refused = runner.invoke(cli, ["--model", missing, "--host", "0.0.0.0"], env={"EVOREC_LLM_API_KEY": ""})
    assert refused.exit_code == 2 and "without an API key" in refused.output
    assert "Traceback" not in refused.output
    keyed = runner.invoke(cli, ["--model", missing, "--host", "0.0.0.0", "--api-key", "k"])
    assert keyed.exit_code == 2 and "without an API key" not in keyed.output and "no such file" in keyed.output
    from_env = runner.invoke(cli, ["--model", missing, "--host", "0.0.0.0"], env={"EVOREC_LLM_API_KEY": "k"})
    assert "without an API key" not in from_env.output


def test_bearer_key_is_required_when_configured() -> None:
    llm = ScriptedLlama()
    with TestClient(create_app(engine(llm), ServerLimits(api_key="s3cret"))) as c:
        assert c.get("/health").status_code == 200  # the launcher's readiness probe stays open
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            r = c.get("/v1/models", headers=headers)
            assert r.status_code == 401 and set(r.json()["error"]) == ERROR_KEYS
            r = c.post("/v1/chat/completions", json=body(), headers=headers)
            assert r.status_code == 401
        assert llm.started == 0
        ok = {"Authorization": "Bearer s3cret"}
        assert c.get("/v1/models", headers=ok).json()["data"][0]["id"] == "stand-in"
        r = c.post("/v1/chat/completions", json=body(), headers=ok)
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "hello hello hello"


def test_requests_are_bounded() -> None:
    llm = ScriptedLlama()
    with TestClient(create_app(engine(llm), ServerLimits(max_body_bytes=64 * 1024))) as c:
        big = body(messages=[{"role": "user", "content": "x" * 100_000}])
        r = c.post("/v1/chat/completions", json=big)
        assert r.status_code == 413 and set(r.json()["error"]) == ERROR_KEYS

        def chunked() -> Iterator[bytes]:  # no Content-Length: the cap holds while the body streams in
            yield json.dumps(big).encode()

        assert c.post("/v1/chat/completions", content=chunked()).status_code == 413
        many = body(messages=[{"role": "user", "content": "hi"}] * 300)
        r = c.post("/v1/chat/completions", json=many)
        assert r.status_code == 400 and "messages" in r.json()["error"]["message"]
        r = c.post("/v1/chat/completions", json=body(max_tokens=10**9))
        assert r.status_code == 400 and r.json()["error"]["param"] == "max_tokens"
        assert c.post("/v1/chat/completions", content=b"{not json").status_code == 400
        assert llm.started == 0
        r = c.post("/v1/chat/completions", json=body(stream=True, stream_options={"include_usage": True}))
        frames = [f.removeprefix("data: ") for f in r.text.split("\n\n") if f]
        assert frames[-1] == "[DONE]"
        chunks = [json.loads(f) for f in frames[:-1]]
        streamed = "".join(ch["choices"][0]["delta"].get("content") or "" for ch in chunks if ch["choices"])
        assert streamed == "hello " * 3
        assert chunks[-1]["usage"]["completion_tokens"] == 3 and chunks[-1]["timings"]["predicted_n"] == 3


@pytest.fixture()
def live_server() -> Iterator[tuple[str, ScriptedLlama]]:
    """The real app under uvicorn on loopback; the stand-in streams ~8 MB (far more than socket buffers hold)."""
    llm = ScriptedLlama(piece="x" * 32768, n=256)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(engine(llm)), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", llm
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_client_that_stops_reading_does_not_hold_the_engine(live_server: tuple[str, ScriptedLlama]) -> None:
    url, llm = live_server
    port = int(url.rsplit(":", 1)[1])
    payload = json.dumps(body(stream=True, max_tokens=4000)).encode()
    slow = socket.create_connection(("127.0.0.1", port))
    try:
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
        slow.recv(1024)  # the stream has started; this client now reads nothing more
        t0 = time.monotonic()
        r = httpx.post(url + "/v1/chat/completions", json=body(max_tokens=1), timeout=30)
        assert r.status_code == 200, r.text
        assert time.monotonic() - t0 < 20
        assert llm.started == 2
    finally:
        slow.close()
