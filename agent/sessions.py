"""Chat sessions in SQLite under ``settings.home``: the conversation and the stated preferences.

A small sqlite3 schema of our own rather than LangGraph's checkpointer: the loop is not a
LangGraph graph, and what must persist is tiny and must be queryable and deletable by user
(``delete_user_sessions`` for erasure requests), which opaque checkpoint blobs make awkward.
Every operation opens its own connection, so the store is safe across threads and processes
(WAL mode), and a restarted service sees earlier turns and preferences.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from evorec.errors import InvalidRequestError, NotFoundError
from evorec.tools.constraints import Constraints

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    constraints TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE TABLE IF NOT EXISTS turns (
    session_id TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    ts REAL NOT NULL,
    PRIMARY KEY (session_id, idx)
);
"""


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str
    meta: dict[str, Any] = Field(default_factory=dict)
    ts: float


class Session(BaseModel):
    session_id: str
    user_id: str
    constraints: Constraints = Field(default_factory=Constraints)
    turns: list[Turn] = Field(default_factory=list)
    created: float
    updated: float


class SessionStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._conn(transaction=False) as c:
            c.executescript(SCHEMA)

    @contextmanager
    def _conn(self, transaction: bool = True) -> Iterator[sqlite3.Connection]:
        """One connection, one transaction. ``BEGIN IMMEDIATE`` takes the write lock up front (waiting up to the
        timeout for it), so a read-then-write (turn numbering, create-if-new) is atomic across threads and
        processes: two turns on one session can neither both create it nor both take the same turn number."""
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA secure_delete=ON")  # deleted rows are zeroed, not left in free pages (forget-user)
            if not transaction:  # schema scripts manage their own transaction
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def open(self, session_id: str, user_id: str) -> Session:
        """The session, created if new. A session is bound to one user for life."""
        if not session_id or len(session_id) > 200:
            raise InvalidRequestError("session id must be 1-200 characters")
        now = time.time()
        with self._conn() as c:
            c.execute("INSERT OR IGNORE INTO sessions VALUES (?,?,?,?,?)",
                      (session_id, str(user_id), now, now, Constraints().model_dump_json()))
            (owner,) = c.execute("SELECT user_id FROM sessions WHERE session_id=?", (session_id,)).fetchone()
            if owner != str(user_id):
                raise InvalidRequestError(f"session {session_id!r} belongs to another user")
        return self.get(session_id)

    def get(self, session_id: str) -> Session:
        with self._conn() as c:
            row = c.execute("SELECT user_id, created, updated, constraints FROM sessions WHERE session_id=?",
                            (session_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no session {session_id!r}")
            turns = c.execute("SELECT role, content, meta, ts FROM turns WHERE session_id=? ORDER BY idx",
                              (session_id,)).fetchall()
        return Session(session_id=session_id, user_id=row[0], created=row[1], updated=row[2],
                       constraints=Constraints.model_validate_json(row[3]),
                       turns=[Turn(role=r, content=t, meta=json.loads(m), ts=ts) for r, t, m, ts in turns])

    def append(self, session_id: str, role: Literal["user", "assistant"], content: str,
               meta: dict[str, Any] | None = None) -> None:
        now = time.time()
        with self._conn() as c:
            c.execute("INSERT INTO turns SELECT ?, COALESCE(MAX(idx) + 1, 0), ?, ?, ?, ? FROM turns WHERE session_id=?",
                      (session_id, role, content, json.dumps(meta or {}), now, session_id))
            c.execute("UPDATE sessions SET updated=? WHERE session_id=?", (now, session_id))

    def set_constraints(self, session_id: str, constraints: Constraints) -> None:
        with self._conn() as c:
            c.execute("UPDATE sessions SET constraints=?, updated=? WHERE session_id=?",
                      (constraints.model_dump_json(), time.time(), session_id))

    def delete(self, session_id: str) -> bool:
        with self._conn() as c:
            c.execute("DELETE FROM turns WHERE session_id=?", (session_id,))
            return c.execute("DELETE FROM sessions WHERE session_id=?", (session_id,)).rowcount > 0

    def delete_user(self, user_id: str) -> int:
        with self._conn() as c:
            ids = [r[0] for r in c.execute("SELECT session_id FROM sessions WHERE user_id=?", (str(user_id),))]
            for sid in ids:
                c.execute("DELETE FROM turns WHERE session_id=?", (sid,))
            c.execute("DELETE FROM sessions WHERE user_id=?", (str(user_id),))
        if ids:  # the WAL still holds the rows as written: fold it into the file and empty it
            with self._conn(transaction=False) as c:
                c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(ids)

    def list_user(self, user_id: str) -> list[str]:
        with self._conn() as c:
            return [r[0] for r in c.execute("SELECT session_id FROM sessions WHERE user_id=? ORDER BY updated",
                                            (str(user_id),))]
