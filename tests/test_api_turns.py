"""Agent turns against a slow LLM: a client that leaves cancels its turn (and the LLM stream), and past the
concurrent-turn limit requests get 429 at once while /healthz and /v1/recommend stay responsive.

The LLM is a real OpenAI-compatible HTTP server in a subprocess on loopback (tests/test_api_standin_llm.py)
that trickles its answer chunk by chunk; evorec's own server is a real uvicorn on loopback.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from harness.live_server import free_port
from test_api_fixtures import known_users, uvicorn_server

from evorec.agent import AgentService
from evorec.agent.llm import OpenAIChatModel
from evorec.serving.api import create_app
from evorec.serving.api.engines import Engines

STANDIN = Path(__file__).resolve().parent / "test_api_standin_llm.py"


@pytest.fixture
def slow_llm(tmp_path: Path) -> Iterator[str]:
    """The stand-in LLM trickling one 16-character chunk every 0.3 s (an answer takes ~10 s)."""
    from evorec.serving.llm.launcher import wait_healthy

    port = free_port()
    log = (tmp_path / "standin.log").open("wb")
    proc = subprocess.Popen([sys.executable, str(STANDIN), str(port), "0", "0.3"], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", proc, 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(10)
        log.close()


def app_with_llm(api_services: Engines, llm_url: str, **settings: object) -> FastAPI:
    s = api_services.settings.model_copy(update={"llm": "endpoint", "llm_url": llm_url + "/v1", "llm_timeout_s": 60,
                                                 **settings})
    agent = AgentService(api_services.toolbox, s, llm=OpenAIChatModel(llm_url + "/v1", timeout_s=60),
                         turn_budget_s=None)
    return create_app(s, Engines(s, toolbox=api_services.toolbox, agent=agent))


def llm_stats(llm_url: str) -> dict[str, int]:
    return httpx.get(llm_url + "/stats", timeout=10).json()


def wait_for(check: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_a_client_that_leaves_cancels_its_turn_and_the_llm_stream(api_services: Engines, slow_llm: str) -> None:
    user = known_users(api_services, 2)[1]
    app = app_with_llm(api_services, slow_llm)
    with uvicorn_server(app) as url:
        # streaming: read until the answer starts streaming, then hang up
        with httpx.Client(base_url=url, timeout=60) as http, \
                http.stream("POST", "/v1/chat", json={"user_id": user, "message": "what next?"}) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                if line.startswith("event: token"):
                    break
        assert wait_for(lambda: llm_stats(slow_llm)["streams_abandoned"] == 1, 5), llm_stats(slow_llm)
        assert wait_for(lambda: app.state.turns.running == 0, 5)

        # not streaming (chat completions, recommend with the LLM): the client gives up after 3 s
        for path, body in [("/v1/chat/completions", {"model": "evorec", "user": user,
                                                     "messages": [{"role": "user", "content": "what next?"}]}),
                           ("/v1/recommend", {"user_id": user, "k": 3})]:
            before = llm_stats(slow_llm)["streams_abandoned"]
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(url + path, json=body, timeout=httpx.Timeout(60, read=3))
            assert wait_for(lambda b=before: llm_stats(slow_llm)["streams_abandoned"] == b + 1, 5), (
                path, llm_stats(slow_llm))
            assert wait_for(lambda: app.state.turns.running == 0, 5), path
        stats = llm_stats(slow_llm)
        assert stats["streams_finished"] == 0, stats  # no abandoned turn ran its LLM stream to the end

        # positive control: a client that waits gets the whole LLM answer
        r = httpx.post(url + "/v1/recommend", json={"user_id": user, "k": 3}, timeout=120)
        assert r.status_code == 200 and not r.json()["degraded"], r.text[:300]
        assert llm_stats(slow_llm)["streams_finished"] == 1


@pytest.mark.slow
def test_a_hundred_slow_chats_get_429_past_the_limit_and_health_stays_fast(api_services: Engines,
                                                                            slow_llm: str) -> None:
    users = known_users(api_services, 10)
    limit = 8
    app = app_with_llm(api_services, slow_llm, max_concurrent_turns=limit)
    statuses: list[int] = []
    retry_after: list[str] = []
    release = threading.Event()
    lock = threading.Lock()

    def slow_chat(n: int, url: str) -> None:
        try:
            with httpx.Client(base_url=url, timeout=120) as http, \
                    http.stream("POST", "/v1/chat", json={"user_id": users[n % len(users)],
                                                          "message": "what should I watch next?"}) as r:
                with lock:
                    statuses.append(r.status_code)
                    if r.status_code == 429:
                        retry_after.append(r.headers.get("retry-after", ""))
                if r.status_code == 200:
                    for _ in r.iter_lines():  # hold the turn open, reading slowly, until the probes are done
                        if release.is_set():
                            break
        except httpx.HTTPError as e:
            with lock:
                statuses.append(-1)
                print("chat client error:", e)

    with uvicorn_server(app) as url:
        chats = [threading.Thread(target=slow_chat, args=(n, url), daemon=True) for n in range(100)]
        for t in chats:
            t.start()
        assert wait_for(lambda: len(statuses) == 100, 60), f"{len(statuses)} of 100 chats answered"
        probes: dict[str, list[float]] = {"/healthz": [], "/v1/recommend": []}
        with httpx.Client(base_url=url, timeout=60) as http:
            for n in range(20):
                for path in probes:
                    t0 = time.perf_counter()
                    r = (http.get(path) if path == "/healthz" else
                         http.post(path, json={"user_id": users[n % len(users)], "k": 5, "llm": False}))
                    probes[path].append(time.perf_counter() - t0)
                    assert r.status_code == 200, (path, r.text[:200])
            running_during = app.state.turns.running
        release.set()
        for t in chats:
            t.join(60)
        drained = wait_for(lambda: app.state.turns.running == 0, 30)
    p95 = {path: float(np.percentile(v, 95)) for path, v in probes.items()}
    print(f"100 slow chats, limit {limit}: {statuses.count(200)} admitted, {statuses.count(429)} got 429 "
          f"(Retry-After {sorted(set(retry_after))}); during them /healthz p95 {p95['/healthz'] * 1000:.0f} ms, "
          f"/v1/recommend (plan-first) p95 {p95['/v1/recommend'] * 1000:.0f} ms; turns running {running_during}")
    assert statuses.count(200) == limit and statuses.count(429) == 100 - limit, statuses
    assert all(v.isdigit() and int(v) >= 1 for v in retry_after)
    assert running_during == limit and drained
    assert p95["/healthz"] < 2.0 and p95["/v1/recommend"] < 5.0, p95
