"""Errors are JSON with a message and the right status; nothing leaks a stack trace."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from test_api_fixtures import LOOPBACK_BASE

from evorec.errors import ArtifactError, InvalidRequestError, NotFoundError, StoreUnavailableError
from evorec.serving.api import create_app
from evorec.serving.api.engines import Engines
from evorec.settings import Settings


@pytest.fixture
def client(tmp_path) -> TestClient:
    app = create_app(Settings(home=tmp_path, llm="none"))

    def boom(kind: str) -> None:
        errors = {"invalid": InvalidRequestError("k must be positive"), "missing": NotFoundError("no such thing"),
                  "artifact": ArtifactError("checkpoint trained on other data"),
                  "store": StoreUnavailableError("cannot reach chroma at 127.0.0.1:8000"),
                  "bug": RuntimeError("secret internal detail"),
                  "conn": ConnectionRefusedError("Could not connect to a Chroma server")}
        raise errors[kind]

    app.add_api_route("/test/boom/{kind}", boom, methods=["GET"])
    return TestClient(app, raise_server_exceptions=False, base_url=LOOPBACK_BASE)


@pytest.mark.parametrize(("kind", "status", "etype"), [
    ("invalid", 400, "InvalidRequestError"), ("missing", 404, "NotFoundError"), ("artifact", 409, "ArtifactError"),
    ("store", 503, "StoreUnavailableError"), ("conn", 503, "StoreUnavailableError"), ("bug", 500, "internal_error")])
def test_errors_map_to_json(client: TestClient, kind: str, status: int, etype: str) -> None:
    r = client.get(f"/test/boom/{kind}")
    assert r.status_code == status
    body = r.json()["error"]
    assert body["type"] == etype and body["code"] == status and body["message"]
    assert "Traceback" not in r.text and 'File "' not in r.text
    if kind == "bug":
        assert "secret internal detail" not in r.text


def test_validation_error_names_the_field(client: TestClient) -> None:
    r = client.post("/v1/recommend", json={"user_id": "u1", "constraints": {"k": 0}})
    assert r.status_code == 422
    assert "constraints.k" in r.json()["error"]["message"]
    r = client.post("/v1/recommend", json={"user_id": "u1", "constraints": {"year_min": 2000, "year_max": 1990}})
    assert r.status_code == 422 and "year_min" in r.json()["error"]["message"]
    r = client.post("/v1/recommend", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["type"] == "validation_error"
    r = client.post("/v1/events", json={"events": []})
    assert r.status_code == 422


def test_unknown_route_and_method_are_json(client: TestClient) -> None:
    r = client.get("/v1/nothing")
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"
    r = client.get("/v1/recommend")
    assert r.status_code == 405 and r.json()["error"]["code"] == 405


def test_store_down_is_503_and_health_says_why(api_services: Engines) -> None:
    # the prepared home, but the store in http mode on a port where nothing listens: unreachable
    prepared = api_services.settings
    settings = prepared.model_copy(update={"chroma_mode": "http", "chroma_host": "127.0.0.1", "chroma_port": 9})
    client = TestClient(create_app(settings), raise_server_exceptions=False, base_url=LOOPBACK_BASE)
    r = client.post("/v1/recommend", json={"user_id": "u1"})
    assert r.status_code == 503, r.text
    assert r.json()["error"]["message"]
    h = client.get("/healthz")
    assert h.status_code == 503 and h.json()["status"] == "unavailable"


def test_nan_from_a_model_never_breaks_json() -> None:
    import json

    from test_api_fixtures import parse_sse

    from evorec.serving.api.responses import SafeJSONResponse
    from evorec.serving.wire.sse import sse

    body = SafeJSONResponse({"a": float("nan"), "b": [float("inf"), 1.5], "c": "x"}).body
    assert json.loads(body) == {"a": None, "b": [None, 1.5], "c": "x"}
    assert parse_sse(sse({"x": float("-inf"), "y": 2}, "final")) == [("final", {"x": None, "y": 2})]
