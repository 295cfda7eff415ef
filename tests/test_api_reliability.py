"""Reliability of the served API (slow; in CI): fuzzing, load, LLM outage, crash during ingest.

Each test runs real ``evorec serve`` processes on 127.0.0.1 over a home prepared by a
subprocess (the test process itself never opens the embedded store while a server does).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from harness.live_server import LiveServer, free_port
from harness.loadgen import run_load
from test_api_fixtures import make_app, parse_sse, uvicorn_server

from evorec.serving.api.engines import Engines
from evorec.settings import Settings
from evorec.tools.store.ids import scoped_id

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent

PREPARE = """
import sys
from test_api_fixtures import api_settings, prepare_small
from evorec.tools.data.loader import load_dataset
s = api_settings(sys.argv[1])
prepare_small(s)
ds = load_dataset("synthetic", settings=s)
print(",".join(str(u) for u in ds.interactions["user_id"].value_counts().index[:20]))
print(",".join(str(i) for i in ds.items["item_id"]))
"""


def prepare_home(home: Path) -> tuple[list[str], list[str]]:
    """Generate, ingest, train and fit the small synthetic dataset under ``home`` in a subprocess
    (this process must not hold the embedded store a server will open); returns (users, item ids)."""
    out = subprocess.run([sys.executable, "-c", PREPARE, str(home)], check=True, capture_output=True, text=True,
                         timeout=900, cwd=REPO / "tests", env={**os.environ, "HF_HUB_OFFLINE": "1",
                                                      "PYTHONPATH": str(REPO / "benchmarks")})
    users, items = out.stdout.strip().splitlines()[-2:]
    return users.split(","), items.split(",")


def server_env(home: Path, **extra: str) -> dict[str, str]:
    return {"EVOREC_HOME": str(home), "EVOREC_DATASET": "synthetic", "EVOREC_LLM": "none",
            "EVOREC_API_KEYS": "", "EVOREC_ADMIN_KEY": "", "OPENBLAS_NUM_THREADS": "1", **extra}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], list[str]]:
    home = tmp_path_factory.mktemp("reliability") / "home"
    users, items = prepare_home(home)
    return home, users, items


# ------------------------------------------------------------------ schemathesis


def test_schemathesis_finds_no_server_errors(api_services: Engines, tmp_path: Path) -> None:
    with uvicorn_server(make_app(api_services)) as url:
        cmd = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{url}/openapi.json",
               "--checks", "not_a_server_error", "--max-examples", "12", "--seed", "7",
               "--phases", "examples,coverage,fuzzing", "--max-time", "300", "--request-timeout", "60",
               "--exclude-path", "/v1/admin/retrain",
               "--suppress-health-check", "all", "--workers", "1", "--no-color"]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    print(run.stdout[-4000:])
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]


# ------------------------------------------------------------------ load


def test_fifty_clients_for_sixty_seconds(prepared: tuple[Path, list[str], list[str]], tmp_path: Path) -> None:
    home, users, _ = prepared
    with LiveServer(server_env(home), log_path=tmp_path / "server.log") as server:
        res = run_load(server.url, "/v1/recommend",
                       lambda rng: {"user_id": rng.choice(users), "k": 10, "llm": False},
                       clients=50, duration_s=60, max_requests=200_000, timeout_s=120)
    print(f"50 clients x 60 s: {res.requests} requests, {res.throughput} req/s, p50 {res.p50_ms} ms, "
          f"p95 {res.p95_ms} ms, p99 {res.p99_ms} ms, errors {res.errors}")
    assert res.errors == 0, res.error_samples
    assert res.requests >= 50


# ------------------------------------------------------------------ LLM outage


@pytest.fixture
def llm_server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen, str]]:
    """The real local llama.cpp server when installed (make llm), else the stand-in protocol server."""
    from evorec.serving.llm.launcher import local_backend_available, start_local_server, wait_healthy

    if local_backend_available():
        managed = start_local_server(Settings(home=tmp_path / "llm-home"))
        url, proc, kind = managed.endpoint.base_url, managed.process, "llama.cpp"
    else:
        port = free_port()
        log = (tmp_path / "standin.log").open("wb")
        proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "test_api_standin_llm.py"), str(port), "5"],
                                stdout=log, stderr=subprocess.STDOUT)
        wait_healthy(f"http://127.0.0.1:{port}/health", proc, 60)
        url, kind = f"http://127.0.0.1:{port}/v1", "stand-in"
    try:
        yield url, proc, kind
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_llm_killed_mid_conversation(prepared: tuple[Path, list[str], list[str]],
                                     llm_server: tuple[str, subprocess.Popen, str], tmp_path: Path) -> None:
    """The LLM server is killed while the agent is waiting on it: that turn and the next are answered
    plan-first (``degraded``), streamed to the end, with no error event and no 5xx anywhere."""
    home, users, _ = prepared
    url, llm_proc, kind = llm_server
    env = server_env(home, EVOREC_LLM="endpoint", EVOREC_LLM_URL=url, EVOREC_LLM_TIMEOUT_S="300")
    with LiveServer(env, log_path=tmp_path / "server.log") as server, httpx.Client(base_url=server.url,
                                                                                 timeout=600) as http:
        assert http.get("/healthz").json()["components"]["llm"]["ok"]
        user = users[0]
        frames = []
        with http.stream("POST", "/v1/chat", json={"user_id": user, "message": "What next, and why?"}) as r:
            assert r.status_code == 200
            buf = ""
            for text in r.iter_text():
                buf += text
                if '{"type":"tool_result","tool":"detect_trends"' in buf and llm_proc.poll() is None:
                    time.sleep(1.0)  # the pre-run tools are done: the agent is now waiting on the LLM
                    llm_proc.kill()  # kill -9 the LLM server mid-turn
                    llm_proc.wait(10)
            frames = parse_sse(buf)
        assert llm_proc.poll() is not None, f"the {kind} LLM was never called"
        kinds = [k for k, _ in frames]
        assert kinds[0] == "session" and kinds[-1] == "final" and "error" not in kinds
        final1 = frames[-1][1]["recommendations"]
        assert final1["degraded"] and final1["items"] and final1["degraded_reason"], final1.get("degraded_reason")
        session_id = frames[0][1]["session_id"]

        second = http.post("/v1/chat", json={"user_id": user, "session_id": session_id, "message": "And more?"})
        assert second.status_code == 200
        events = parse_sse(second.text)
        assert [k for k, _ in events if k == "error"] == []
        final2 = events[-1][1]["recommendations"]
        assert final2["degraded"] and final2["items"] and final2["degraded_reason"]
        assert len(http.get(f"/v1/sessions/{session_id}").json()["turns"]) == 4

        rec = http.post("/v1/recommend", json={"user_id": user, "k": 5})
        assert rec.status_code == 200 and rec.json()["degraded"]
        oai = http.post("/v1/chat/completions", json={"model": "evorec", "user": user,
                                                      "messages": [{"role": "user", "content": "hi"}]})
        assert oai.status_code == 200 and oai.json()["evorec"]["degraded"]
        health = http.get("/healthz").json()
        assert health["status"] == "degraded" and not health["components"]["llm"]["ok"]
        metrics = http.get("/metrics").text
        assert 'evorec_degraded_answers_total{endpoint="chat"} 2.0' in metrics
        assert '_total{method="POST",route="/v1/chat",status="5' not in metrics


# ------------------------------------------------------------------ crash during ingest


def _count_user_events(home: Path, users: list[str]) -> dict[str, list[str]]:
    """Event ids per user, read from the store directly (no server running)."""
    code = ("import json, sys\nfrom evorec.settings import Settings\n"
            "from evorec.tools.store.client import get_client, collection_names\n"
            "s = Settings(home=sys.argv[1])\n"
            "col = get_client(s).get_collection(collection_names('synthetic')[1])\n"
            "print(json.dumps({u: col.get(where={'user_id': u}, include=[])['ids'] for u in sys.argv[2:]}))\n")
    out = subprocess.run([sys.executable, "-c", code, str(home), *users], check=True, capture_output=True, text=True,
                         timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_kill_minus_9_during_batch_ingest_then_resend(prepared: tuple[Path, list[str], list[str]],
                                                      tmp_path: Path) -> None:
    home, _, items = prepared
    crash_users = [f"crash-user-{n}" for n in range(4)]
    batches = [[{"user_id": crash_users[(b + j) % 4], "item_id": items[(b * 37 + j) % len(items)],
                 "ts": 1_800_000_000 + b * 1000 + j, "event_id": f"crash-{b}-{j}"} for j in range(100)]
               for b in range(30)]
    # the store keeps each client id inside its sender's id space (tools/store/ids.py: scoped_id)
    expected = {u: sorted(scoped_id(u, e["event_id"]) for batch in batches for e in batch if e["user_id"] == u)
                for u in crash_users}

    acked: list[int] = []
    server = LiveServer(server_env(home), log_path=tmp_path / "server.log").start()

    def send_all() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for b, batch in enumerate(batches):
                try:
                    if http.post("/v1/events", json={"events": batch}).status_code == 200:
                        acked.append(b)
                except httpx.HTTPError:
                    return

    sender = threading.Thread(target=send_all)
    sender.start()
    deadline = time.monotonic() + 120
    while len(acked) < 5 and time.monotonic() < deadline and sender.is_alive():
        time.sleep(0.05)
    server.kill()  # kill -9 while batches are in flight
    sender.join(60)
    assert 5 <= len(acked) < len(batches), f"the crash should land mid-ingest (acked {len(acked)})"

    with LiveServer(server_env(home), log_path=tmp_path / "server2.log") as again, \
            httpx.Client(base_url=again.url, timeout=120) as http:
        for batch in batches:  # the client re-sends everything, acknowledged or not
            r = http.post("/v1/events", json={"events": batch})
            assert r.status_code == 200, r.text
        hist = http.get(f"/v1/users/{crash_users[0]}/history", params={"limit": 5000}).json()
        assert hist["total_events"] == len(expected[crash_users[0]])
    stored = _count_user_events(home, crash_users)
    for u in crash_users:
        assert sorted(stored[u]) == expected[u], f"{u}: {len(stored[u])} stored vs {len(expected[u])} sent"
