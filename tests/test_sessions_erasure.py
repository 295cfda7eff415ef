"""Forgetting a user's chat sessions leaves no copy of them in the SQLite file (free pages, WAL)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from evorec.agent.sessions import SessionStore


def test_deleted_sessions_leave_no_bytes_behind(tmp_path: Path) -> None:
    path = tmp_path / "sessions.sqlite"
    store = SessionStore(path)
    for k in range(3):
        store.open(f"s{k}", "someone-to-forget")
        store.append(f"s{k}", "user", "my secret taste in films: someone-to-forget likes noir " * 20)
    store.open("keep", "someone-else")
    store.append("keep", "user", "hello")

    def traces() -> int:
        return sum(p.read_bytes().count(b"someone-to-forget") for p in tmp_path.iterdir() if p.is_file())

    assert traces() > 0
    other = sqlite3.connect(path)  # another worker's connection keeps the WAL file alive
    try:
        other.execute("SELECT COUNT(*) FROM sessions").fetchone()
        assert store.delete_user("someone-to-forget") == 3
        assert traces() == 0
    finally:
        other.close()
    assert store.list_user("someone-else") == ["keep"]
