"""The web chat page at ``/`` and its static files (plain HTML/JS/CSS, no build step, no CDN)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from evorec.tools import wording_for

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
STATIC = {"app.js": "text/javascript", "style.css": "text/css", "index.html": "text/html"}

router = APIRouter(include_in_schema=False)


@router.get("/")
def index(request: Request) -> HTMLResponse:
    """The page, in the catalog's words (films and genres, products and categories, ...)."""
    settings = request.app.state.settings
    w = wording_for(settings.dataset, settings)
    html = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    for key, value in (("%NOUN%", w.noun), ("%PLURAL%", w.plural), ("%CATEGORY%", w.category)):
        html = html.replace(key, value)
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    if name not in STATIC:  # a fixed list: no path traversal, nothing else leaks
        raise HTTPException(404, f"no static file {name!r}")
    return FileResponse(WEB_DIR / name, media_type=STATIC[name], headers={"Cache-Control": "no-cache"})
