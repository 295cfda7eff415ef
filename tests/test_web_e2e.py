"""The web page end to end in real headless Chromium (Debian ``chromium`` + Python ``playwright``).

Sends a question, waits for the streamed answer and the item cards, opens an evidence
chip, checks the interest chart loaded, and saves a screenshot (path printed; set
``EVOREC_SCREENSHOT_DIR`` to keep a copy). Skips with the reason when Chromium is absent.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_api_fixtures import known_users, make_app, uvicorn_server

from evorec.serving.api.engines import Engines

CHROMIUM = Path(os.environ.get("EVOREC_CHROMIUM", "/usr/bin/chromium"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.is_file(),
                                reason=f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")


@pytest.fixture(scope="module")
def base_url(api_services: Engines) -> Iterator[str]:
    with uvicorn_server(make_app(api_services)) as url:
        yield url


@pytest.fixture(scope="module")
def user(api_services: Engines) -> str:
    return known_users(api_services, 1)[0]


def test_chat_page_in_chromium(base_url: str, user: str, tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api", reason="Python package playwright not installed")
    problems: list[str] = []
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            external: list[str] = []
            page.on("request", lambda r: external.append(r.url) if not r.url.startswith((base_url, "data:", "blob:"))
                    else None)
            page.goto(f"{base_url}/?user={user}")
            page.wait_for_selector("#interest-chart:not([hidden])", timeout=60_000)
            assert page.evaluate("document.getElementById('interest-chart').naturalWidth") > 300

            page.fill("#chat-input", "What should I watch next, and why?")
            page.click("#chat-send")
            page.wait_for_selector(".card", timeout=120_000)
            page.wait_for_function("!document.getElementById('chat-send').disabled", timeout=60_000)

            cards = page.locator(".card")
            assert cards.count() >= 3
            first = cards.first
            assert first.locator(".title").inner_text().strip()
            assert first.locator(".rationale").inner_text().strip()
            assert first.locator(".chip").count() >= 1
            first.locator(".chip").first.click()
            assert first.locator(".evidence-text").is_visible()
            assert first.locator(".evidence-text").inner_text().strip()
            assert page.locator(".msg.assistant .body").inner_text().strip()
            assert page.locator(".msg.assistant .tool.done").count() >= 3  # tool calls streamed, then completed
            assert page.locator("#session-id").inner_text().startswith("s-")
            assert "degraded" in page.locator("#answer-flags").inner_text()

            shot = tmp_path / "evorec-web.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot: {shot}")
            if os.environ.get("EVOREC_SCREENSHOT_DIR"):
                keep = Path(os.environ["EVOREC_SCREENSHOT_DIR"])
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(shot, keep / shot.name)
        finally:
            browser.close()
    assert not external, f"page fetched outside the server: {external}"
    assert not problems, problems
