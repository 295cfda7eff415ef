"""The web chat page at ``/`` and its static files (plain HTML/JS/CSS, no build step, no CDN)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
STATIC = {"app.js": "text/javascript", "style.css": "text/css", "index.html": "text/html"}

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> FileResponse:
    return FileResponse(WEB_DIR / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"})


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    if name not in STATIC:  # a fixed list: no path traversal, nothing else leaks
        raise HTTPException(404, f"no static file {name!r}")
    return FileResponse(WEB_DIR / name, media_type=STATIC[name], headers={"Cache-Control": "no-cache"})
