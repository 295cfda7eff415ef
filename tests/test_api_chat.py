"""``POST /v1/chat`` (SSE) and ``GET/DELETE /v1/sessions/{id}`` on the real engines."""

from __future__ import annotations

from fastapi.testclient import TestClient
from test_api_fixtures import known_users, parse_sse

from evorec.serving.api.engines import Engines


def _turn(api_client: TestClient, user: str, message: str, session_id: str | None = None) -> list[tuple[str, dict]]:
    body = {"user_id": user, "message": message} | ({"session_id": session_id} if session_id else {})
    r = api_client.post("/v1/chat", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    return parse_sse(r.text)


def test_chat_streams_tools_then_final(api_client: TestClient, api_services: Engines) -> None:
    user = known_users(api_services, 3)[2]
    events = _turn(api_client, user, "What should I watch next, and why?")
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
    events2 = _turn(api_client, user, f"No {banned} please.", session_id)
    final2 = events2[-1][1]["recommendations"]
    assert all(banned not in it["categories"] for it in final2["items"])
    s = api_client.get(f"/v1/sessions/{session_id}")
    assert s.status_code == 200
    session = s.json()
    assert session["user_id"] == user and len(session["turns"]) == 4
    assert banned in session["constraints"]["exclude_categories"]

    d = api_client.delete(f"/v1/sessions/{session_id}")
    assert d.status_code == 200 and d.json()["deleted"] is True
    assert api_client.get(f"/v1/sessions/{session_id}").status_code == 404
    assert api_client.delete(f"/v1/sessions/{session_id}").status_code == 404


def test_session_is_bound_to_its_user(api_client: TestClient, api_services: Engines) -> None:
    a, b = known_users(api_services, 2)
    events = _turn(api_client, a, "something light")
    sid = events[0][1]["session_id"]
    r = api_client.post("/v1/chat", json={"user_id": b, "message": "hi", "session_id": sid})
    assert r.status_code == 409 and "another user" in r.json()["error"]["message"]


def test_chat_input_validation(api_client: TestClient) -> None:
    assert api_client.post("/v1/chat", json={"user_id": "1", "message": ""}).status_code == 422
    assert api_client.post("/v1/chat", json={"user_id": "1", "message": "x" * 4001}).status_code == 422
    bad_session = {"user_id": "1", "message": "hi", "session_id": "../etc"}
    assert api_client.post("/v1/chat", json=bad_session).status_code == 422
    assert api_client.get("/v1/sessions/nope-never").status_code == 404
