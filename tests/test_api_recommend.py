"""``POST /v1/recommend`` on the real engines (synthetic data, embedded Chroma, no LLM)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from test_api_fixtures import known_users

from evorec.serving.api.engines import Engines


def test_known_user_gets_grounded_ranked_items(api_client: TestClient, api_services: Engines) -> None:
    user = known_users(api_services, 1)[0]
    r = api_client.post("/v1/recommend", json={"user_id": user, "k": 5, "llm": False})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user_id"] == user and not body["cold_start"]
    assert body["degraded"] is True  # no LLM here: the plan-first executor answered
    items = body["items"]
    assert 1 <= len(items) <= 5
    assert [it["rank"] for it in items] == list(range(1, len(items) + 1))
    scores = [it["score"] for it in items]
    assert scores == sorted(scores, reverse=True)
    for it in items:
        assert it["title"] and it["rationale"]["text"]
        ev_ids = {e["id"] for e in it["evidence"]}
        assert set(it["rationale"]["evidence_ids"]) <= ev_ids
    assert body["interest_summary"]


def test_constraints_are_applied_exactly(api_client: TestClient, api_services: Engines) -> None:
    user = known_users(api_services, 2)[1]
    first = api_client.post("/v1/recommend", json={"user_id": user, "k": 10}).json()
    banned = first["items"][0]["categories"][0]
    r = api_client.post("/v1/recommend",
                        json={"user_id": user, "constraints": {"k": 8, "exclude_categories": [banned]}})
    assert r.status_code == 200
    items = r.json()["items"]
    assert len(items) <= 8
    assert all(banned not in it["categories"] for it in items)
    assert r.json()["constraints"]["exclude_categories"] == [banned]


def test_unknown_user_gets_cold_start(api_client: TestClient) -> None:
    r = api_client.post("/v1/recommend", json={"user_id": "nobody-ever-seen", "k": 3})
    assert r.status_code == 200
    assert r.json()["cold_start"] is True and len(r.json()["items"]) == 3


def test_answers_are_counted_in_metrics(api_client: TestClient, api_services: Engines) -> None:
    user = known_users(api_services, 1)[0]
    api_client.post("/v1/recommend", json={"user_id": user, "k": 2})
    text = api_client.get("/metrics").text
    assert 'evorec_answers_total{endpoint="recommend",mode="degraded"}' in text
    assert 'evorec_degraded_answers_total{endpoint="recommend"}' in text
    assert 'evorec_http_request_duration_seconds_count{method="POST",route="/v1/recommend"}' in text
