"""Degradation is decided in one place, the agent's turn (``evorec.agent.turn``): serving has no fallback of its
own. With the LLM endpoint down, every answering route still answers 200, plan-first and marked degraded — from
the agent alone."""

from __future__ import annotations

import ast
from pathlib import Path

from fastapi.testclient import TestClient
from harness.live_server import free_port
from test_api_fixtures import LOOPBACK_BASE, known_users, parse_sse

from evorec.agent import AgentService, OpenAIChatModel
from evorec.serving.api import create_app
from evorec.serving.api.engines import Engines

SERVING = Path(__file__).resolve().parents[1] / "serving"


def caught_names(path: Path) -> list[tuple[int, str]]:
    """(line, name) of every exception class an ``except`` clause in ``path`` names."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            out += [(node.lineno, t.id if isinstance(t, ast.Name) else ast.unparse(t)) for t in types]
    return out


def test_no_serving_route_falls_back_on_its_own() -> None:
    files = sorted((SERVING / "api").rglob("*.py"))
    found = [f"{p.relative_to(SERVING.parent)}:{line}" for p in files for line, name in caught_names(p)
             if name.endswith("LLMUnavailableError")]
    assert not found, "the agent's turn decides degradation; serving must not catch LLMUnavailableError:\n" + \
        "\n".join(found)
    assert not (SERVING / "api" / "llm_fallback.py").exists()


def test_llm_down_every_route_answers_degraded_from_the_agent(api_services: Engines) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there: connection refused at once
    s = api_services.settings.model_copy(update={"llm": "endpoint", "llm_url": dead, "llm_timeout_s": 5})
    agent = AgentService(api_services.toolbox, s, llm=OpenAIChatModel(dead, timeout_s=5))
    client = TestClient(create_app(s, Engines(s, toolbox=api_services.toolbox, agent=agent)), base_url=LOOPBACK_BASE)
    user = known_users(api_services, 1)[0]

    rec = client.post("/v1/recommend", json={"user_id": user, "k": 3})
    assert rec.status_code == 200, rec.text
    body = rec.json()
    assert body["degraded"] and body["items"] and "unreachable" in body["degraded_reason"], body["degraded_reason"]

    chat = client.post("/v1/chat", json={"user_id": user, "message": "What next?"})
    assert chat.status_code == 200
    frames = parse_sse(chat.text)
    kinds = [k for k, _ in frames]
    assert kinds[-1] == "final" and "error" not in kinds, kinds
    final = frames[-1][1]["recommendations"]
    assert final["degraded"] and final["items"] and "unreachable" in final["degraded_reason"]

    oai = client.post("/v1/chat/completions", json={"model": "evorec", "user": user,
                                                    "messages": [{"role": "user", "content": "hi"}]})
    assert oai.status_code == 200 and oai.json()["evorec"]["degraded"], oai.text[:300]
