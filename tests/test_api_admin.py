"""Admin retraining: a background job in its own process, with status; serving reloads on success."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from test_api_fixtures import known_users, make_app

from evorec.serving.api.engines import Engines

ADMIN = {"Authorization": "Bearer root-key"}


@pytest.fixture(scope="module")
def client(api_services: Engines) -> TestClient:
    return TestClient(make_app(api_services, api_keys="user-key", admin_key=SecretStr("root-key")))


def _wait(client: TestClient, job_id: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/admin/jobs/{job_id}", headers=ADMIN).json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} still {job['state']} after {timeout_s} s")


def test_retrain_needs_the_admin_key(client: TestClient) -> None:
    assert client.post("/v1/admin/retrain", json={}).status_code == 401
    assert client.post("/v1/admin/retrain", json={}, headers={"Authorization": "Bearer user-key"}).status_code == 403


def test_a_failing_job_reports_failure_with_its_log(client: TestClient) -> None:
    r = client.post("/v1/admin/retrain", json={"dataset": "csv"}, headers=ADMIN)  # csv needs a path: fails fast
    assert r.status_code == 202 and r.headers["location"] == f"/v1/admin/jobs/{r.json()['job_id']}"
    job = _wait(client, r.json()["job_id"], 120)
    assert job["state"] == "failed" and job["returncode"] != 0 and not job["reloaded"]
    assert any("error" in line.lower() for line in job["log_tail"]), job["log_tail"]
    assert job["job_id"] in [j["job_id"] for j in client.get("/v1/admin/jobs", headers=ADMIN).json()]
    assert client.get("/v1/admin/jobs/job-doesnotexist", headers=ADMIN).status_code == 404


@pytest.mark.slow
def test_retrain_succeeds_and_serving_reloads(client: TestClient, api_services: Engines) -> None:
    forecaster = api_services.settings.artifacts_dir("synthetic") / "forecaster"
    before = {p: p.stat().st_mtime for p in forecaster.rglob("*") if p.is_file()}
    old_toolbox = api_services.toolbox
    r = client.post("/v1/admin/retrain", json={"epochs": 1, "seed": 3}, headers=ADMIN)
    assert r.status_code == 202
    again = client.post("/v1/admin/retrain", json={}, headers=ADMIN)
    assert again.status_code == 409  # one job at a time
    job = _wait(client, r.json()["job_id"], 600)
    assert job["state"] == "succeeded", job["log_tail"]
    assert job["reloaded"] and api_services.toolbox is not old_toolbox
    after = {p: p.stat().st_mtime for p in forecaster.rglob("*") if p.is_file()}
    assert any(after.get(p, 0) > t for p, t in before.items())  # new artifacts written
    user = known_users(api_services, 1)[0]
    rec = client.post("/v1/recommend", json={"user_id": user, "k": 3}, headers=ADMIN)
    assert rec.status_code == 200 and len(rec.json()["items"]) == 3
