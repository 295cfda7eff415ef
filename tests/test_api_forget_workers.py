"""Forgetting a user under ``evorec serve --workers 2`` (two processes, one ``chroma run`` store): the user is
gone from every worker's caches at once, and stays gone after a re-ingest and a restart."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness.live_server import LiveServer, free_port
from harness.workers import each_worker


def _gone_everywhere(url: str, user: str) -> None:
    for worker, r in each_worker(url, lambda h: h.get(f"/v1/users/{user}/history")).items():
        assert r.status_code == 200 and r.json()["known"] is False and r.json()["events"] == [], (worker, r.text)
    for worker, r in each_worker(url, lambda h: h.post("/v1/recommend", json={"user_id": user, "k": 3,
                                                                              "llm": False})).items():
        assert r.status_code == 200 and r.json()["cold_start"] is True, (worker, r.text)  # the cold-start answer
    for worker, r in each_worker(url, lambda h: h.get(f"/v1/users/{user}/interests")).items():
        assert r.json()["known"] is False, (worker, r.text)
    for worker, r in each_worker(url, lambda h: h.get("/v1/users", params={"limit": 500})).items():
        assert user not in r.json()["users"], worker


@pytest.mark.slow
def test_forget_reaches_every_worker_and_lasts(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    from test_api_reliability import prepare_home

    home = tmp_path_factory.mktemp("forget-workers") / "home"
    users, _ = prepare_home(home)
    user = users[0]
    port = str(free_port())
    env = {"EVOREC_HOME": str(home), "EVOREC_DATASET": "synthetic", "EVOREC_LLM": "none",
           "EVOREC_CHROMA_PORT": port, "EVOREC_API_KEYS": "", "EVOREC_ADMIN_KEY": "", "OPENBLAS_NUM_THREADS": "1"}
    log = tmp_path / "serve.log"
    with LiveServer(env, workers=2, extra_args=["--start-chroma"], log_path=log) as server:
        warm: dict[str, Any] = {}
        for ask in (lambda h: h.get(f"/v1/users/{user}/interests"),
                    lambda h: h.post("/v1/recommend", json={"user_id": user, "k": 3, "llm": False}),
                    lambda h: h.get(f"/v1/users/{user}/history")):
            for worker, r in each_worker(server.url, ask).items():  # the user is cached on both workers
                assert r.status_code == 200 and r.json().get("known", True), (worker, r.text)
                assert not r.json().get("cold_start", False), (worker, r.text)
                warm[worker] = True
        assert len(warm) == 2
        with httpx.Client(base_url=server.url, timeout=120, headers={"Connection": "close"}) as http:
            r = http.delete(f"/v1/users/{user}")
        assert r.status_code == 200, r.text
        assert r.json()["tombstone"] and r.json()["events_deleted"] > 0
        _gone_everywhere(server.url, user)

        # a re-ingest of the dataset files (the CLI, through the same chroma server) does not bring the user back
        ingest = subprocess.run([sys.executable, "-m", "evorec.serving.cli.main", "ingest", "--no-progress"],
                                env={**os.environ, **env, "EVOREC_CHROMA_MODE": "http", "HF_HUB_OFFLINE": "1"},
                                capture_output=True, text=True, timeout=600)
        assert ingest.returncode == 0, ingest.stderr[-2000:]
        assert "forgotten users" in ingest.stdout
        _gone_everywhere(server.url, user)
    with LiveServer(env, workers=2, extra_args=["--start-chroma"], log_path=log) as server:  # a restart
        _gone_everywhere(server.url, user)


@pytest.mark.slow
def test_forget_places_checked_report_zero_traces(tmp_path: Path) -> None:
    """The security.md figure: benchmarks/forget_places.py scans every place after a forget; all counts 0,
    and the same places held the user before (the scan can see traces)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "forget_places.py"
    spec = importlib.util.spec_from_file_location("forget_places", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    report = module.run(tmp_path / "home", say=lambda _: None)
    assert report["total_traces"] == 0, report["traces"]
    before = report["before"]
    assert before["training_delta_bytes"] > 0 and before["chroma_events"] > 0 and before["sessions"] == 1
    assert before["sessions_file_bytes"] > 0
    assert before["worker_history_known"] == 2 and before["worker_users_list"] == 2
    assert report["answer"]["removed"]["training_delta_events"] == 3 and report["answer"]["tombstone"]
