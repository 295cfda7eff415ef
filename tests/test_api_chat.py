"""``POST /v1/chat`` (SSE) and ``GET/DELETE /v1/sessions/{id}`` on the real engines."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from test_api_fixtures import build_services, known_users, make_app, parse_sse

from evorec.serving.api.services import Services


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    return build_services(tmp_path_factory.getbasetemp() / "api-engines")


@pytest.fixture(scope="module")
def client(services: Services) -> TestClient:
    return TestClient(make_app(services))


def _turn(client: TestClient, user: str, message: str, session_id: str | None = None) -> list[tuple[str, dict]]:
    body = {"user_id": user, "message": message} | ({"session_id": session_id} if session_id else {})
    r = client.post("/v1/chat", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    return parse_sse(r.text)


def test_chat_streams_tools_then_final(client: TestClient, services: Services) -> None:
    user = known_users(services, 3)[2]
    events = _turn(client, user, "What should I watch next, and why?")
    kinds = [k for k, _ in events]
    assert kinds[0] == "session" and kinds[-1] == "final"
    assert kinds.count("final") == 1 and "error" not in kinds
    calls = [d["tool"] for k, d in events if k == "tool_call"]
    results = [d["tool"] for k, d in events if k == "tool_result"]
    assert "rank_candidates" in calls and sorted(calls) == sorted(results)
    assert kinds.index("tool_call") < kinds.index("tool_result")
    final = events[-1][1]["recommendations"]
    assert final["user_id"] == user and final["items"]
    session_id = events[0][1]["session_id"]

    # the session remembers the turn and accumulates stated preferences
    banned = final["items"][0]["categories"][0]
    events2 = _turn(client, user, f"No {banned} please.", session_id)
    final2 = events2[-1][1]["recommendations"]
    assert all(banned not in it["categories"] for it in final2["items"])
    s = client.get(f"/v1/sessions/{session_id}")
    assert s.status_code == 200
    session = s.json()
    assert session["user_id"] == user and len(session["turns"]) == 4
    assert banned in session["constraints"]["exclude_categories"]

    d = client.delete(f"/v1/sessions/{session_id}")
    assert d.status_code == 200 and d.json()["deleted"] is True
    assert client.get(f"/v1/sessions/{session_id}").status_code == 404
    assert client.delete(f"/v1/sessions/{session_id}").status_code == 404


def test_session_is_bound_to_its_user(client: TestClient, services: Services) -> None:
    a, b = known_users(services, 2)
    events = _turn(client, a, "something light")
    sid = events[0][1]["session_id"]
    r = client.post("/v1/chat", json={"user_id": b, "message": "hi", "session_id": sid})
    assert r.status_code == 409 and "another user" in r.json()["error"]["message"]


def test_chat_input_validation(client: TestClient) -> None:
    assert client.post("/v1/chat", json={"user_id": "1", "message": ""}).status_code == 422
    assert client.post("/v1/chat", json={"user_id": "1", "message": "x" * 4001}).status_code == 422
    assert client.post("/v1/chat", json={"user_id": "1", "message": "hi", "session_id": "../etc"}).status_code == 422
    assert client.get("/v1/sessions/nope-never").status_code == 404
