"""Who may act for whom: every route that takes a user × every kind of caller, against the rule.

The rule: open mode (no keys) and keys for any user (including the admin key) may act for anyone; a key
restricted to alice may act for alice only (403 for bob); no key or a wrong key is 401. An allowed request
must succeed (2xx), so a route that refuses everyone fails here as surely as one that lets everyone in.
The routes come from the app's OpenAPI table: a new route that takes a user and is not in the matrix fails
the coverage test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from test_api_fixtures import LOOPBACK_BASE, make_app

from evorec.serving.api.engines import Engines

PRINCIPALS: dict[str, dict[str, str] | None] = {
    "open": None,  # the app without keys
    "key for any user": {"Authorization": "Bearer any-key"},
    "key for alice": {"X-API-Key": "alice-key"},
    "admin key": {"Authorization": "Bearer admin-key"},
    "no key": {},
    "wrong key": {"Authorization": "Bearer not-a-key"},
}
TARGETS = ("alice", "bob")


def expected(principal: str, target: str) -> str:
    if principal in {"no key", "wrong key"}:
        return "401"
    if principal == "key for alice" and target != "alice":
        return "403"
    return "allow"


@dataclass
class Case:
    method: str
    path: str  # the OpenAPI path template, as the route table names it
    build: Callable[[str, World], tuple[str, dict[str, Any]]]  # target user → (url, request kwargs)
    variant: str = ""


@dataclass
class World:
    items: list[str]
    services: Engines

    def new_session(self, user: str) -> str:
        sid = "m-" + uuid.uuid4().hex[:12]
        self.services.agent.sessions.open(sid, user)
        return sid

    def event(self, user: str, n: int = 0) -> dict[str, Any]:
        return {"user_id": user, "item_id": self.items[n % len(self.items)], "ts": 1_750_000_000 + n,
                "event_id": f"matrix-{uuid.uuid4().hex[:12]}"}


def _oai(user: str, header: bool) -> dict[str, Any]:
    body = {"model": "evorec", "messages": [{"role": "user", "content": "what next?"}]}
    if header:
        return {"json": body, "headers": {"X-Evorec-User": user}}
    return {"json": body | {"user": user}}


CASES = [
    Case("GET", "/v1/users/{user_id}/history", lambda u, w: (f"/v1/users/{u}/history", {})),
    Case("GET", "/v1/users/{user_id}/interests", lambda u, w: (f"/v1/users/{u}/interests", {})),
    Case("GET", "/v1/users/{user_id}/interests.png", lambda u, w: (f"/v1/users/{u}/interests.png", {})),
    Case("DELETE", "/v1/users/{user_id}", lambda u, w: (f"/v1/users/{u}", {})),
    Case("POST", "/v1/recommend", lambda u, w: ("/v1/recommend", {"json": {"user_id": u, "k": 3, "llm": False}})),
    Case("POST", "/v1/chat", lambda u, w: ("/v1/chat", {"json": {"user_id": u, "message": "what next?"}})),
    Case("POST", "/v1/chat/completions", lambda u, w: ("/v1/chat/completions", _oai(u, header=False)), "user field"),
    Case("POST", "/v1/chat/completions", lambda u, w: ("/v1/chat/completions", _oai(u, header=True)), "header"),
    Case("GET", "/v1/sessions/{session_id}", lambda u, w: (f"/v1/sessions/{w.new_session(u)}", {})),
    Case("DELETE", "/v1/sessions/{session_id}", lambda u, w: (f"/v1/sessions/{w.new_session(u)}", {})),
    Case("POST", "/v1/events", lambda u, w: ("/v1/events", {"json": w.event(u)}), "single"),
    Case("POST", "/v1/events", lambda u, w: ("/v1/events", {"json": {"events": [w.event(u, 1), w.event(u, 2)]}}),
         "batch"),
    # a batch for alice that slips in one event of the target: alice's key must not get bob's event in
    Case("POST", "/v1/events", lambda u, w: ("/v1/events", {"json": {"events": [w.event("alice", 3),
                                                                                w.event(u, 4)]}}), "mixed batch"),
]

USER_FIELDS = {"user_id", "user", "events"}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _body_fields(spec: dict[str, Any], op: dict[str, Any]) -> set[str]:
    content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    todo = [content.get("schema", {})]
    fields: set[str] = set()
    while todo:
        schema = _resolve(spec, todo.pop())
        todo += schema.get("anyOf", []) + schema.get("oneOf", [])
        fields |= set(schema.get("properties", {}))
    return fields


def routes_taking_a_user(spec: dict[str, Any]) -> set[tuple[str, str]]:
    """(method, path) of every operation that names a user: a user or session in the path, a user-naming body
    field, or the X-Evorec-User header."""
    found = set()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            params = {p["name"].lower() for p in op.get("parameters", [])}
            if (params & {"user_id", "session_id", "x-evorec-user"}) or (_body_fields(spec, op) & USER_FIELDS):
                found.add((method.upper(), path))
    return found


@pytest.fixture(scope="module")
def clients(api_services: Engines) -> dict[str, TestClient]:
    keyed = make_app(api_services, api_keys="any-key,alice-key:alice", admin_key=SecretStr("admin-key"))
    return {"open": TestClient(make_app(api_services), base_url=LOOPBACK_BASE, raise_server_exceptions=False),
            "keyed": TestClient(keyed, raise_server_exceptions=False)}


@pytest.fixture(scope="module")
def world(api_services: Engines) -> World:
    return World(items=[str(i) for i in api_services.toolbox.data.items["item_id"][:10]], services=api_services)


def test_the_matrix_covers_every_route_that_takes_a_user(clients: dict[str, TestClient]) -> None:
    spec = clients["keyed"].get("/openapi.json").json()
    in_matrix = {(c.method, c.path) for c in CASES}
    assert routes_taking_a_user(spec) == in_matrix
    for method, path in in_matrix:  # and every one of them is documented as needing a key
        assert spec["paths"][path][method.lower()].get("security"), (method, path)


def test_access_matrix(clients: dict[str, TestClient], world: World) -> None:
    wrong_allows: list[str] = []
    wrong_denies: list[str] = []
    checked = 0
    for case in CASES:
        for principal, headers in PRINCIPALS.items():
            client = clients["open" if headers is None else "keyed"]
            for target in TARGETS:
                url, kwargs = case.build(target, world)
                kwargs = {**kwargs, "headers": {**kwargs.get("headers", {}), **(headers or {})}}
                r = client.request(case.method, url, **kwargs)
                checked += 1
                want = expected(principal, target)
                where = f"{case.method} {case.path} {case.variant} as {principal} for {target}: HTTP {r.status_code}"
                if want == "allow" and not 200 <= r.status_code < 300:
                    wrong_denies.append(f"{where} {r.text[:160]}")
                elif want != "allow" and r.status_code != int(want):
                    (wrong_allows if 200 <= r.status_code < 300 else wrong_denies).append(f"{where}, want {want}")
    print(f"access matrix: {len(CASES)} route cases x {len(PRINCIPALS)} principals x {len(TARGETS)} targets = "
          f"{checked} requests; wrong allows {len(wrong_allows)}, wrong denies {len(wrong_denies)}")
    assert wrong_allows == [] and wrong_denies == [], "\n".join(wrong_allows + wrong_denies)
