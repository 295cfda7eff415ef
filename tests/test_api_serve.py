"""``evorec serve``: bind policy, refusing to share an embedded store between workers, several workers via chroma."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from harness.live_server import LiveServer, free_port

from evorec.errors import InvalidRequestError
from evorec.serving.api.server import serve
from evorec.settings import Settings


def test_workers_with_an_embedded_store_are_refused_with_the_ways_out(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, chroma_mode="embedded", llm="none")
    with pytest.raises(InvalidRequestError, match="--start-chroma") as e:
        serve(settings, "127.0.0.1", free_port(), workers=2, say=lambda _: None)
    assert "EVOREC_CHROMA_MODE=http" in str(e.value)


def test_cli_prints_one_line_and_exits_nonzero(tmp_path: Path) -> None:
    env = {**os.environ, "EVOREC_HOME": str(tmp_path), "EVOREC_LLM": "none", "EVOREC_CHROMA_MODE": "embedded"}
    run = subprocess.run([sys.executable, "-m", "evorec.serving.cli.main", "serve", "--workers", "3",
                          "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "error:" in run.stderr and "Traceback" not in run.stderr
    assert "--start-chroma" in run.stderr


@pytest.mark.slow
def test_two_workers_share_the_store_through_a_chroma_server(tmp_path_factory: pytest.TempPathFactory,
                                                             tmp_path: Path) -> None:
    from test_api_reliability import prepare_home

    home = tmp_path_factory.mktemp("two-workers") / "home"
    users, _ = prepare_home(home)
    env = {"EVOREC_HOME": str(home), "EVOREC_DATASET": "synthetic", "EVOREC_LLM": "none",
           "EVOREC_CHROMA_PORT": str(free_port()), "EVOREC_API_KEYS": "", "EVOREC_ADMIN_KEY": ""}
    with LiveServer(env, workers=2, extra_args=["--start-chroma"], log_path=tmp_path / "serve.log") as server, \
            httpx.Client(base_url=server.url, timeout=120) as http:
        for n in range(12):
            r = http.post("/v1/recommend", json={"user_id": users[n % len(users)], "k": 5, "llm": False})
            assert r.status_code == 200, r.text
        r = http.post("/v1/events", json={"user_id": users[0], "item_id": r.json()["items"][0]["item_id"],
                                          "ts": 1_900_000_000, "event_id": "two-workers-1"})
        assert r.status_code == 200 and r.json()["added"] == 1
        hist = http.get(f"/v1/users/{users[0]}/history", params={"limit": 1}).json()
        assert hist["events"][-1]["event_id"] == "two-workers-1"  # visible through any worker: one shared store
        assert http.get("/healthz").json()["components"]["store"]["info"]["mode"] == "http"
        text = http.get("/metrics").text
        assert 'evorec_http_requests_total{method="POST",route="/v1/recommend",status="200"} 12.0' in text
    log = (tmp_path / "serve.log").read_text()
    assert "started chroma server" in log
