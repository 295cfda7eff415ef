"""Chroma client per settings: embedded ``PersistentClient`` (default) or ``HttpClient`` for ``chroma run``."""

from __future__ import annotations

import os
import re
import threading
from typing import Any

from evorec.errors import InvalidRequestError, StoreUnavailableError
from evorec.settings import Settings

_lock = threading.Lock()
_clients: dict[tuple, Any] = {}
ITEMS_PREFIX, EVENTS_PREFIX = "items__", "events__"


def location(settings: Settings) -> str:
    if settings.chroma_mode == "http":
        return f"http://{settings.chroma_host}:{settings.chroma_port}"
    return str(settings.chroma_dir)


def collection_names(dataset: str) -> tuple[str, str]:
    """(items, events) collection names for a dataset; Chroma allows [a-zA-Z0-9._-] only."""
    if not dataset or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}", dataset):
        raise InvalidRequestError(f"dataset name {dataset!r} must be letters, digits, '.', '_' or '-'")
    safe = dataset.rstrip("._-") or dataset
    return f"{ITEMS_PREFIX}{safe}", f"{EVENTS_PREFIX}{safe}"


def get_client(settings: Settings, fresh: bool = False) -> Any:
    """A connected client (cached per location); unreachable servers raise StoreUnavailableError."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    key = (settings.chroma_mode, location(settings))
    with _lock:
        if not fresh and key in _clients:
            return _clients[key]
        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        try:
            if settings.chroma_mode == "http":
                client = chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                             settings=chroma_settings)
                client.heartbeat()
            else:
                settings.chroma_dir.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)
        except Exception as e:  # chroma raises many types (ValueError, httpx errors, RuntimeError)
            raise StoreUnavailableError(f"Chroma at {location(settings)} is unavailable: {_short(e)}") from e
        _clients[key] = client
        return client


def forget_client(settings: Settings) -> None:
    with _lock:
        _clients.pop((settings.chroma_mode, location(settings)), None)


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:200]
