"""Event ids and the layout of an event record.

Every stored event id starts with its owner: ``enc(user) "|" rest``, where ``enc`` percent-escapes ``%`` and
``|``, so the owner is whatever precedes the first ``|`` and two users can never share a stored id.

- Ids the store derives (ingest, events sent without an id): ``enc(user)|enc(item)|ts`` (``#k`` for the k-th
  repeat of the same triple). For ids free of ``%`` and ``|`` this is the ``user|item|ts`` of earlier
  versions, so stores ingested before keep working (a re-ingest finds every event present).
- An id chosen by a client for ``user`` is scoped to that user: stored as ``enc(user)|<client id>`` unless it
  already starts with ``enc(user)|`` (an id the API returned, sent back). A ``|`` inside a client id cannot
  forge another user's id: it only ever lands after the sender's own prefix.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any


def enc(part: str) -> str:
    """``part`` with ``%`` and ``|`` percent-escaped (identity for ordinary ids)."""
    return str(part).replace("%", "%25").replace("|", "%7C")


def dec(part: str) -> str:
    return part.replace("%7C", "|").replace("%25", "%")


def owner_prefix(user_id: str) -> str:
    return enc(user_id) + "|"


def owner_of(stored_id: str) -> str | None:
    """The user a stored id belongs to (None for ids without an owner prefix: legacy client ids)."""
    head, sep, _ = stored_id.partition("|")
    return dec(head) if sep else None


def event_ids(users: Sequence[str], items: Sequence[str], ts: Sequence[int]) -> list[str]:
    """Stable derived ids ``user|item|ts`` (escaped, see the module docstring); repeats get ``#k``."""
    base = [f"{enc(u)}|{enc(i)}|{int(t)}" for u, i, t in zip(users, items, ts, strict=True)]
    seen: dict[str, int] = {}
    out = []
    for b in base:
        k = seen.get(b, 0)
        seen[b] = k + 1
        out.append(b if k == 0 else f"{b}#{k}")
    return out


def scoped_id(user_id: str, event_id: str) -> str:
    """The stored id of ``event_id`` sent for ``user_id``: always inside that user's id space."""
    prefix = owner_prefix(user_id)
    return event_id if event_id.startswith(prefix) else prefix + event_id


def user_key(dataset: str, user_id: str) -> str:
    """A one-way key of a user (tombstones, the change log): says 'this user' without storing the id itself."""
    return hashlib.sha256(f"{dataset}\x00{user_id}".encode()).hexdigest()[:32]


def encode_event(user_id: str, item_id: str, ts: int, row: int, rating: float | None,
                 client_id: str | None = None) -> dict[str, Any]:
    """The metadata of one event record: ``user_id`` (what reads filter on), ``ev = "ts|row|rating|item_id"``
    (rating empty when absent) and, for an id chosen by the client that differs from the stored one, ``cid``
    (shown back to the client as the event's id)."""
    r = "" if rating is None or math.isnan(rating) else repr(float(rating))
    m: dict[str, Any] = {"user_id": user_id, "ev": f"{int(ts)}|{int(row)}|{r}|{item_id}"}
    if client_id is not None:
        m["cid"] = client_id
    return m


def decode_event(m: dict[str, Any]) -> tuple[str, str, int, int, float | None]:
    """(user_id, item_id, ts, row, rating) of an event record, in either metadata layout."""
    packed = m.get("ev")
    if packed is None:  # layout of earlier versions: one key per field
        return (str(m["user_id"]), str(m["item_id"]), int(m["ts"]), int(m.get("row", 0)),
                float(m["rating"]) if "rating" in m else None)
    ts, row, rating, item = str(packed).split("|", 3)
    return str(m["user_id"]), item, int(ts), int(row), float(rating) if rating else None


def shown_id(stored_id: str, m: dict[str, Any]) -> str:
    """The id a reader sees: the client's own id when it chose one, else the stored id."""
    cid = m.get("cid")
    return str(cid) if cid else stored_id
