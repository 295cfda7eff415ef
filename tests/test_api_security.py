"""The API under attack: body caps before parsing, auth before the body, capped lists and strings, open mode's
Host/Origin check, /healthz details, metric labels, session races, crafted ids in charts and everywhere an id
enters. Every refused case has an allowed case beside it (a check that refuses everything would fail here)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.types import Receive, Scope, Send
from test_api_fixtures import LOOPBACK_BASE, make_app, uvicorn_server

from evorec.agent.sessions import SessionStore
from evorec.serving.api.engines import Engines
from evorec.serving.api.metrics import ApiMetrics
from evorec.serving.wire.openai_types import MAX_CONTENT_CHARS

KEYS: dict[str, Any] = {"api_keys": "any-key,alice-key:alice", "admin_key": SecretStr("admin-key")}
ANY = {"Authorization": "Bearer any-key"}
ADMIN = {"X-API-Key": "admin-key"}
MB = 1 << 20


@pytest.fixture(scope="module")
def keyed(api_services: Engines) -> TestClient:
    return TestClient(make_app(api_services, **KEYS), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def open_client(api_services: Engines) -> TestClient:
    return TestClient(make_app(api_services), base_url=LOOPBACK_BASE, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def item_ids(api_services: Engines) -> list[str]:
    return [str(i) for i in api_services.toolbox.data.items["item_id"][:20]]


# ------------------------------------------------------------------ body cap, auth before the body


class CountingApp:
    """Wraps the app between the server and it: counts the body bytes the app pulls from the server."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.read = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                self.read += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


def raw_post(url: str, path: str, headers: dict[str, str], total: int, chunked: bool, chunk: int = 64 * 1024
             ) -> int:
    """POST ``total`` bytes of JSON-ish filler over a raw socket (chunked or with Content-Length), reading the
    response concurrently; stops sending once the response arrives. Returns the status code."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=60)
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json",
             *(f"{k}: {v}" for k, v in headers.items())]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
    answered = threading.Event()

    def send_body() -> None:
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            answered.wait(0.5)  # a server that decides from the headers answers now
            sent = 0
            while sent < total and not answered.is_set():
                n = min(chunk, total - sent)
                piece = b"1" * n
                sock.sendall(f"{n:x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
                sent += n
            if chunked and not answered.is_set():
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server closed the connection after refusing: expected

    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    data = b""
    try:
        while b"\r\n" not in data:
            got = sock.recv(65536)
            if not got:
                break
            data += got
    finally:
        answered.set()
        sender.join(30)
        sock.close()
    return int(data.split(b" ", 2)[1])


@pytest.mark.parametrize(("case", "headers", "chunked", "status", "max_read"), [
    ("no key, Content-Length", {}, False, 401, 0),
    ("no key, chunked", {}, True, 401, 0),
    ("wrong key, chunked", {"Authorization": "Bearer nope"}, True, 401, 0),
    ("valid key, Content-Length", ANY, False, 413, 0),
    ("valid key, chunked", ANY, True, 413, MB + 512 * 1024),  # the cap plus what one read delivers
])
def test_a_20_mb_body_is_refused_before_it_is_read(api_services: Engines, case: str, headers: dict[str, str],
                                                   chunked: bool, status: int, max_read: int) -> None:
    counting = CountingApp(make_app(api_services, **KEYS))
    with uvicorn_server(counting) as url:  # type: ignore[arg-type]
        got = raw_post(url, "/v1/events", headers, 20 * MB, chunked)
    print(f"20 MB body, {case}: HTTP {got}, {counting.read} body bytes read by the app")
    assert got == status
    assert counting.read <= max_read, f"{case}: read {counting.read} bytes before refusing"


def test_body_cap_is_a_setting_and_bodies_under_it_are_parsed(api_services: Engines) -> None:
    small = TestClient(make_app(api_services, max_body_bytes=4096, **KEYS), raise_server_exceptions=False,
                       headers={"Content-Type": "application/json"})
    r = small.post("/v1/recommend", headers=ANY, content=b'{"user_id": "alice", "pad": "' + b"x" * 5000 + b'"}')
    assert r.status_code == 413 and "4096 byte limit" in r.json()["error"]["message"]
    r = small.post("/v1/recommend", headers=ANY, content=b'{"user_id": "alice", "pad": "' + b"x" * 3000 + b'"}')
    assert r.status_code == 422 and "pad" in r.json()["error"]["message"]  # under the cap: parsed, then refused
    # the default (1 MiB): 900 kB is parsed; 1.1 MB is not
    default = TestClient(make_app(api_services, **KEYS), raise_server_exceptions=False,
                         headers={"Content-Type": "application/json"})
    body = b'{"user_id": "alice", "pad": "' + b"x" * 900_000 + b'"}'
    assert default.post("/v1/recommend", headers=ANY, content=body).status_code == 422
    body = b'{"user_id": "alice", "pad": "' + b"x" * 1_100_000 + b'"}'
    assert default.post("/v1/recommend", headers=ANY, content=body).status_code == 413
    r = default.post("/v1/recommend", headers={**ANY, "Content-Length": "12x"}, content=b"{}")
    assert r.status_code in {400, 413}


def test_keys_are_documented_as_security_schemes(keyed: TestClient) -> None:
    spec = keyed.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["APIKeyHeader"] == {**schemes["APIKeyHeader"], "type": "apiKey", "in": "header",
                                       "name": "X-API-Key"}
    secured = spec["paths"]["/v1/recommend"]["post"]["security"]
    assert {"HTTPBearer": []} in secured and {"APIKeyHeader": []} in secured
    assert "security" not in spec["paths"]["/healthz"]["get"]  # public routes stay public


def test_either_key_header_works_and_a_bad_one_does_not(keyed: TestClient) -> None:
    body = {"user_id": "alice", "k": 3, "llm": False}
    assert keyed.post("/v1/recommend", json=body, headers={"Authorization": "Bearer any-key"}).status_code == 200
    assert keyed.post("/v1/recommend", json=body, headers={"X-API-Key": "alice-key"}).status_code == 200
    assert keyed.post("/v1/recommend", json=body, headers={"Authorization": "Basic any-key"}).status_code == 401
    assert keyed.post("/v1/recommend", json=body, headers={"X-API-Key": "any-key "}).status_code == 401


# ------------------------------------------------------------------ caps on lists and strings


def _oai(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"model": "evorec", "user": "alice", "messages": messages, **extra}


HELLO = {"role": "user", "content": "something to watch"}


@pytest.mark.parametrize(("name", "at_cap", "over_cap"), [
    ("messages", _oai([{"role": "system", "content": "x"}] * 199 + [HELLO]),
     _oai([{"role": "system", "content": "x"}] * 200 + [HELLO])),
    ("content parts", _oai([{"role": "user", "content": [{"type": "text", "text": "a film"}] * 64}]),
     _oai([{"role": "user", "content": [{"type": "text", "text": "a film"}] * 65}])),
    ("content part text", _oai([{"role": "user", "content": [{"type": "text", "text": "y" * MAX_CONTENT_CHARS}]}]),
     _oai([{"role": "user", "content": [{"type": "text", "text": "y" * (MAX_CONTENT_CHARS + 1)}]}])),
    ("content string", _oai([{"role": "user", "content": "y" * 20000}]),
     _oai([{"role": "user", "content": "y" * 20001}])),
    ("tools", _oai([HELLO], tools=[{"type": "function", "function": {"name": "f"}}] * 64),
     _oai([HELLO], tools=[{"type": "function", "function": {"name": "f"}}] * 65)),
    ("message name", _oai([{**HELLO, "name": "n" * 128}]), _oai([{**HELLO, "name": "n" * 129}])),
])
def test_chat_completion_lists_and_strings_are_capped(open_client: TestClient, name: str, at_cap: dict,
                                                      over_cap: dict) -> None:
    ok = open_client.post("/v1/chat/completions", json=at_cap)
    assert ok.status_code == 200, f"{name} at the cap: {ok.text[:300]}"
    over = open_client.post("/v1/chat/completions", json=over_cap)
    assert over.status_code == 422, f"{name} over the cap: {over.status_code}"


def test_recommend_constraint_lists_are_capped(open_client: TestClient) -> None:
    def rec(**constraints: Any) -> int:
        return open_client.post("/v1/recommend", json={"user_id": "alice", "llm": False,
                                                       "constraints": constraints}).status_code

    assert rec(exclude_items=[f"x{n}" for n in range(1000)]) == 200
    assert rec(exclude_items=[f"x{n}" for n in range(1001)]) == 422
    assert rec(exclude_items=["z" * 129]) == 422
    assert rec(exclude_categories=[f"c{n}" for n in range(101)]) == 422
    assert rec(exclude_categories=["c" * 129]) == 422
    assert rec(exclude_categories=[f"c{n}" for n in range(100)]) != 422


def test_event_batches_are_capped(open_client: TestClient) -> None:
    events = [{"user_id": "cap-user", "item_id": "no-such-item", "ts": 1_700_000_000 + n} for n in range(5000)]
    at_cap = open_client.post("/v1/events", json={"events": events})
    assert at_cap.status_code == 400 and "unknown item" in at_cap.json()["error"]["message"]  # validated, looked at
    over = open_client.post("/v1/events", json={"events": [*events, events[0]]})
    assert over.status_code == 422 and "events" in over.json()["error"]["message"]


# ------------------------------------------------------------------ open mode: Host and Origin


def test_open_mode_answers_loopback_hosts_on_its_port_only(api_services: Engines) -> None:
    import httpx

    with uvicorn_server(make_app(api_services)) as url:
        port = int(url.rsplit(":", 1)[1])

        def get(host: str, **headers: str) -> int:
            return httpx.get(url + "/v1/users?limit=2", headers={"Host": host, **headers}, timeout=30).status_code

        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LOCALHOST:{port}"):
            assert get(host) == 200, host
        for host in (f"attacker.example:{port}", "attacker.example", f"127.0.0.1:{port + 1}", "127.0.0.1",
                     f"127.0.0.1.attacker.example:{port}", f"localhost.:{port}x", ""):
            assert get(host) == 403, host
        assert get(f"127.0.0.1:{port}", Origin=f"http://localhost:{port}") == 200
        assert get(f"127.0.0.1:{port}", Origin="http://127.0.0.1:3000") == 200
        for origin in ("http://attacker.example", "null", f"http://localhost.attacker.example:{port}"):
            assert get(f"127.0.0.1:{port}", Origin=origin) == 403, origin
        # a cross-site form POST (the CSRF case): refused before any engine runs
        r = httpx.post(url + "/v1/events", data={"user_id": "u1", "item_id": "i1"},
                       headers={"Origin": "http://attacker.example"}, timeout=30)
        assert r.status_code == 403 and "other sites" in r.json()["error"]["message"]
        assert httpx.get(url + "/healthz", timeout=30).status_code == 200


def test_with_keys_any_host_may_call(keyed: TestClient) -> None:
    r = keyed.get("/v1/users?limit=2", headers={**ANY, "Host": "api.example.com", "Origin": "https://app.example"})
    assert r.status_code == 200


# ------------------------------------------------------------------ /healthz and /metrics


def test_healthz_details_only_for_admin(keyed: TestClient, open_client: TestClient, api_services: Engines) -> None:
    home = str(api_services.settings.home)
    for headers in ({}, ANY, {"X-API-Key": "alice-key"}, {"X-API-Key": "wrong"}):
        r = keyed.get("/healthz", headers=headers)
        assert r.status_code == 200
        body = r.json()
        assert body["status"] in {"ok", "degraded"} and body["components"]["store"]["ok"] is True
        assert home not in r.text and all(set(c) == {"ok", "detail", "info"} and not c["detail"] and not c["info"]
                                          for c in body["components"].values()), r.text
    admin = keyed.get("/healthz", headers=ADMIN)
    assert home in admin.text and admin.json()["components"]["store"]["info"]
    assert home in open_client.get("/healthz").text  # open mode: the loopback caller holds every right anyway


def test_metric_labels_come_from_a_fixed_set(open_client: TestClient) -> None:
    m = ApiMetrics()
    m.observe_answer("chat", False, 2, ["rank_candidates", "get_user_history", "drop_tables<script>", "x" * 64])
    m.observe_answer("made-up-endpoint", True, 0, [])
    text = m.render().body.decode()
    assert 'evorec_tool_calls_total{tool="rank_candidates"} 1.0' in text
    assert 'evorec_tool_calls_total{tool="other"} 2.0' in text
    assert "drop_tables" not in text and "x" * 64 not in text and "made-up-endpoint" not in text
    assert open_client.request("FOOBAR", "/healthz").status_code == 405
    metrics = open_client.get("/metrics").text
    assert "FOOBAR" not in metrics and 'method="other",route="/healthz"' in metrics


# ------------------------------------------------------------------ sessions: atomic create and numbering


def test_concurrent_turns_on_one_session_never_collide(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions.sqlite")
    errors: list[str] = []
    start = threading.Barrier(16)

    def turn(n: int) -> None:
        try:
            start.wait()
            store.open("shared", "alice")
            store.append("shared", "user", f"message {n}")
            store.append("shared", "assistant", f"answer {n}")
        except Exception as e:  # collected: the test reports every one
            errors.append(repr(e))

    threads = [threading.Thread(target=turn, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    turns = store.get("shared").turns
    assert len(turns) == 32 and sorted(t.content for t in turns if t.role == "user") == sorted(
        f"message {n}" for n in range(16))
    # the owner check still holds under the same race
    with pytest.raises(Exception, match="another user"):
        store.open("shared", "bob")


# ------------------------------------------------------------------ crafted ids


def test_mathtext_in_a_user_id_draws_as_text(open_client: TestClient) -> None:
    nasty = "$" + "{" * 60 + "}" * 60 + "$"
    for user in (nasty, "$x^{2}$", "alice"):
        r = open_client.get(f"/v1/users/{user}/interests.png")
        assert r.status_code == 200, (user, r.text[:200])
        assert r.content[:8] == b"\x89PNG\r\n\x1a\n"


BIDI_AND_CONTROLS = ["\u202e", "\u202a", "\u2066", "\u2069", "\x00", "\x1b", "\x7f", "\x85", "\x9b", "\u200f"]


@pytest.mark.parametrize("bad", BIDI_AND_CONTROLS, ids=[f"U+{ord(c):04X}" for c in BIDI_AND_CONTROLS])
def test_ids_refuse_control_and_bidi_characters_everywhere(open_client: TestClient, item_ids: list[str],
                                                           bad: str) -> None:
    evil = f"ali{bad}ce"
    in_path = quote(evil, safe="")
    code = f"U+{ord(bad):04X}"
    cases: list[tuple[str, str, Any, dict[str, Any]]] = [
        ("GET", f"/v1/users/{in_path}/history", None, {}),
        ("GET", f"/v1/users/{in_path}/interests", None, {}),
        ("GET", f"/v1/users/{in_path}/interests.png", None, {}),
        ("DELETE", f"/v1/users/{in_path}", None, {}),
        ("POST", "/v1/recommend", {"user_id": evil, "llm": False}, {}),
        ("POST", "/v1/recommend", {"user_id": "alice", "llm": False, "constraints": {"exclude_items": [evil]}}, {}),
        ("POST", "/v1/chat", {"user_id": evil, "message": "hi"}, {}),
        ("POST", "/v1/events", {"user_id": evil, "item_id": item_ids[0], "ts": 1_700_000_000}, {}),
        ("POST", "/v1/events", {"user_id": "alice", "item_id": evil, "ts": 1_700_000_000}, {}),
        ("POST", "/v1/events", {"user_id": "alice", "item_id": item_ids[0], "ts": 1_700_000_000, "event_id": evil},
         {}),
        ("POST", "/v1/chat/completions", _oai([HELLO]) | {"user": evil}, {}),
    ]
    if bad in "\x7f\x85\x9b":  # HTTP header values carry latin-1 only, and no C0 controls
        cases.append(("POST", "/v1/chat/completions", _oai([HELLO]) | {"user": None},
                      {"X-Evorec-User": evil.encode("latin-1")}))
    for method, path, body, headers in cases:
        r = open_client.request(method, path, json=body, headers=headers)
        assert r.status_code in {400, 422}, (method, path, r.status_code, r.text[:200])
        if r.status_code == 422 or "X-Evorec-User" in r.text:
            assert code in r.json()["error"]["message"] and "control or bidirectional" in r.json()["error"]["message"]


def test_ordinary_ids_in_any_script_are_accepted(open_client: TestClient, item_ids: list[str]) -> None:
    for user in ("alice", "josé", "用户-42", "user name with spaces"):
        assert open_client.get(f"/v1/users/{user}/history").status_code == 200, user
        r = open_client.post("/v1/events", json={"user_id": user, "item_id": item_ids[1], "ts": 1_700_000_001,
                                                 "event_id": f"ok-{user}-évènement"})
        assert r.status_code in {200, 409}, (user, r.text)
        assert open_client.delete(f"/v1/users/{user}").status_code == 200
