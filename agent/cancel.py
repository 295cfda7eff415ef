"""Cancelling a turn whose caller went away (an HTTP client that disconnected).

The caller sets a :class:`threading.Event` and runs the turn under :func:`cancel_scope`; the agent
checks it between tool calls, before every LLM call and at every streamed token, and stops with
:class:`TurnCancelled` (closing the LLM stream, so the LLM server stops generating too). The flag
travels in a context variable, so no signature in between needs to carry it; ``chat_stream`` runs its
worker thread in a copy of the caller's context.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_CANCEL: ContextVar[threading.Event | None] = ContextVar("evorec_turn_cancel", default=None)


class TurnCancelled(Exception):
    """The turn's caller is gone; nothing more is computed for it."""


@contextmanager
def cancel_scope(event: threading.Event) -> Iterator[threading.Event]:
    token = _CANCEL.set(event)
    try:
        yield event
    finally:
        _CANCEL.reset(token)


def cancelled() -> bool:
    event = _CANCEL.get()
    return event is not None and event.is_set()


def raise_if_cancelled() -> None:
    if cancelled():
        raise TurnCancelled("the caller disconnected; turn cancelled")
