"""API keys: parsing, per-user restriction, admin routes, loopback-only bind without keys."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from test_api_fixtures import make_app

from evorec.errors import InvalidRequestError
from evorec.serving.api.auth import KeyRing, parse_api_keys
from evorec.serving.api.engines import Engines
from evorec.serving.api.server import effective_host
from evorec.settings import Settings


def test_parse_api_keys_restrictions() -> None:
    keys = parse_api_keys(" open-key , shop:alice|bob ,")
    assert [k.key for k in keys] == ["open-key", "shop"]
    assert keys[0].users is None
    assert keys[1].users == frozenset({"alice", "bob"})


@pytest.mark.parametrize("spec", [":alice", "k:", "k:|"])
def test_parse_api_keys_rejects_malformed(spec: str) -> None:
    with pytest.raises(InvalidRequestError):
        parse_api_keys(spec)


def test_keyring_lookup(tmp_path) -> None:
    ring = KeyRing(Settings(home=tmp_path, api_keys="k1,k2:u1", admin_key=SecretStr("adm")))
    assert ring.enabled
    assert ring.lookup("k1").users is None and not ring.lookup("k1").admin
    assert ring.lookup("k2").may_act_for("u1") and not ring.lookup("k2").may_act_for("u2")
    assert ring.lookup("adm").admin
    assert ring.lookup("nope") is None and ring.lookup(None) is None
    assert not KeyRing(Settings(home=tmp_path)).enabled


@pytest.fixture(scope="module")
def keyed_client(api_services: Engines) -> TestClient:
    app = make_app(api_services, api_keys="open,limited:alice", admin_key=SecretStr("root"))
    return TestClient(app, raise_server_exceptions=False)


def test_missing_or_wrong_key_is_401(keyed_client: TestClient) -> None:
    r = keyed_client.post("/v1/recommend", json={"user_id": "alice"})
    assert r.status_code == 401
    assert "API key" in r.json()["error"]["message"]
    assert r.headers["www-authenticate"] == "Bearer"
    r = keyed_client.post("/v1/recommend", json={"user_id": "alice"}, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401


def test_restricted_key_cannot_act_for_other_users(keyed_client: TestClient) -> None:
    for method, path, body in [("post", "/v1/recommend", {"user_id": "bob"}),
                               ("post", "/v1/chat", {"user_id": "bob", "message": "hi"}),
                               ("get", "/v1/users/bob/interests", None),
                               ("delete", "/v1/users/bob", None),
                               ("post", "/v1/events", {"user_id": "bob", "item_id": "i1"})]:
        r = keyed_client.request(method.upper(), path, json=body, headers={"X-API-Key": "limited"})
        assert r.status_code == 403, (path, r.text)
        assert "bob" in r.json()["error"]["message"]


def test_user_list_is_filtered_for_restricted_keys(keyed_client: TestClient) -> None:
    r = keyed_client.get("/v1/users", headers={"X-API-Key": "limited"})
    assert r.status_code == 200 and r.json()["users"] == ["alice"]
    everyone = keyed_client.get("/v1/users?limit=5", headers={"X-API-Key": "open"}).json()["users"]
    assert len(everyone) == 5 and "alice" not in everyone


def test_admin_routes_need_admin_key(keyed_client: TestClient) -> None:
    assert keyed_client.get("/v1/admin/jobs", headers={"Authorization": "Bearer open"}).status_code == 403
    r = keyed_client.get("/v1/admin/jobs", headers={"Authorization": "Bearer root"})
    assert r.status_code == 200 and isinstance(r.json(), list)


def test_public_routes_need_no_key(keyed_client: TestClient) -> None:
    assert keyed_client.get("/").status_code == 200
    assert keyed_client.get("/metrics").status_code == 200
    assert keyed_client.get("/openapi.json").status_code == 200
    assert keyed_client.get("/healthz").json()["auth"] == "api_keys"


def test_without_keys_the_server_binds_loopback_only(tmp_path) -> None:
    said: list[str] = []
    assert effective_host(Settings(home=tmp_path), "0.0.0.0", said.append) == "127.0.0.1"
    assert "127.0.0.1" in said[0]
    assert effective_host(Settings(home=tmp_path, api_keys="k"), "0.0.0.0", said.append) == "0.0.0.0"
