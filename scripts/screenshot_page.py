"""Refresh the web page screenshot in docs/: one real chat turn in headless Chromium, then a PNG.

    python scripts/screenshot_page.py --serve            # starts `evorec serve` (settings from EVOREC_*)
    python scripts/screenshot_page.py --url http://127.0.0.1:8000 --user u0001

Needs Debian's ``chromium`` (apt-get install -y chromium) and the ``playwright`` Python package; the
store and artifacts must be prepared (``evorec demo --no-serve`` does it). With a local LLM configured
(EVOREC_LLM_URL, or the packaged one), the turn is LLM-written; otherwise the page shows it degraded.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("EVOREC_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def _wait(url: str, timeout_s: float) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit(f"no server answering at {url} after {timeout_s:.0f} s")


def shoot(url: str, user: str, question: str, out: Path, timeout_s: float) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 1000})
            page.goto(f"{url}/?user={user}")
            page.wait_for_selector("#interest-chart:not([hidden])", timeout=timeout_s * 1000)
            page.fill("#chat-input", question)
            page.click("#chat-send")
            page.wait_for_selector(".card", timeout=timeout_s * 1000)
            page.wait_for_function("!document.getElementById('chat-send').disabled", timeout=timeout_s * 1000)
            page.locator(".card .chip").first.click()
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=True)
            flags = page.locator("#answer-flags").inner_text()
            print(f"wrote {out} ({'degraded' if 'degraded' in flags else 'LLM-written'} answer: {flags!r})")
        finally:
            browser.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8765")
    ap.add_argument("--serve", action="store_true", help="start `evorec serve` on the --url port for the shot")
    ap.add_argument("--user", default="u0001")
    ap.add_argument("--question", default="What should I watch tonight? Nothing scary, please.")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "web_page.png")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the page and the answer")
    a = ap.parse_args()
    proc = None
    if a.serve:
        port = a.url.rsplit(":", 1)[-1].strip("/")
        proc = subprocess.Popen([sys.executable, "-m", "evorec.serving.cli.main", "serve", "--port", port],
                                cwd=ROOT)
    try:
        _wait(a.url, a.timeout)
        shoot(a.url, a.user, a.question, a.out, a.timeout)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
