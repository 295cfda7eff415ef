"""The web page is served, self-contained (no CDN, no external URL: works offline)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from test_api_fixtures import LOOPBACK_BASE

from evorec.serving.api import create_app
from evorec.serving.api.routes.web import WEB_DIR
from evorec.settings import Settings


@pytest.fixture
def client(tmp_path) -> TestClient:
    return TestClient(create_app(Settings(home=tmp_path, llm="none")), base_url=LOOPBACK_BASE)


def test_index_and_assets_served(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for ref in re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text):
        asset = client.get(ref)
        assert asset.status_code == 200, ref
    assert 'id="chat-form"' in r.text and 'id="cards"' in r.text and 'id="interest-chart"' in r.text


def test_no_external_resources() -> None:
    for path in WEB_DIR.iterdir():
        text = path.read_text()
        assert not re.search(r"https?://", text), f"{path.name} references an external URL"
        assert "@import" not in text


def test_static_is_a_fixed_list(client: TestClient) -> None:
    assert client.get("/static/..%2Fapi%2Fapp.py").status_code == 404
    assert client.get("/static/secret.txt").status_code == 404
