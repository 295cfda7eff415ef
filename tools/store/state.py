"""Store state shared by every process on one HOME: the write generation, its change log, and tombstones.

A small SQLite file (``HOME/store_state.sqlite``, WAL) beside the Chroma store:

- ``generation``: a counter per dataset, bumped (atomically, ``UPDATE … RETURNING``) after every write or
  delete reaches Chroma. Every process compares it with the generation its caches were filled at: one indexed
  SQLite read (tens of µs), whatever the write was — a delete and an add of the same size are both seen,
  unlike the event count this replaced.
- ``changes``: which users each generation touched, as one-way keys (``ids.user_key``; NULL = everything,
  e.g. an ingest), so a process drops just those users. Only the newest ``CHANGE_LOG`` entries are kept; a
  process further behind drops everything.
- ``tombstones``: users forgotten (``DELETE /v1/users/{id}``), as one-way keys. Ingest, retraining and the
  served user list leave them out, so no re-ingest, retrain or restart brings a forgotten user back.

One HOME per store: processes sharing a Chroma server must share the HOME (as ``evorec serve --workers`` does).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from evorec.settings import Settings
from evorec.tools.store.ids import user_key

STATE_FILE = "store_state.sqlite"
CHANGE_LOG = 20_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS generation (dataset TEXT PRIMARY KEY, gen INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS changes (dataset TEXT NOT NULL, gen INTEGER NOT NULL, user_key TEXT);
CREATE INDEX IF NOT EXISTS changes_by_gen ON changes (dataset, gen);
CREATE TABLE IF NOT EXISTS tombstones (dataset TEXT NOT NULL, user_key TEXT NOT NULL, forgotten_at TEXT NOT NULL,
                                       PRIMARY KEY (dataset, user_key));
"""


def state_path(settings: Settings) -> Path:
    return settings.home / STATE_FILE


class StoreState:
    """The state file of one HOME; one SQLite connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._conn() as c:
            c.executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    # ---------------------------------------------------------------- generation
    def generation(self, dataset: str) -> int:
        row = self._conn().execute("SELECT gen FROM generation WHERE dataset = ?", (dataset,)).fetchone()
        return int(row[0]) if row else 0

    def bump(self, dataset: str, users: Iterable[str] | None) -> int:
        """Record a write that reached the store: a new generation touching ``users`` (None: everything)."""
        keys: list[str | None] = [None] if users is None else [user_key(dataset, u) for u in set(users)]
        c = self._conn()
        c.execute("BEGIN IMMEDIATE")
        try:
            c.execute("INSERT OR IGNORE INTO generation (dataset, gen) VALUES (?, 0)", (dataset,))
            gen = int(c.execute("UPDATE generation SET gen = gen + 1 WHERE dataset = ? RETURNING gen",
                                (dataset,)).fetchone()[0])
            c.executemany("INSERT INTO changes (dataset, gen, user_key) VALUES (?, ?, ?)",
                          [(dataset, gen, k) for k in keys])
            c.execute("DELETE FROM changes WHERE dataset = ? AND gen <= ?", (dataset, gen - CHANGE_LOG))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        return gen

    def changes(self, dataset: str, after: int, upto: int) -> set[str] | None:
        """Keys of users touched by generations in (after, upto]; None when everything must be dropped (an
        ingest, or ``after`` older than the kept log)."""
        if upto <= after:
            return set()
        c = self._conn()
        oldest = c.execute("SELECT MIN(gen) FROM changes WHERE dataset = ?", (dataset,)).fetchone()[0]
        if oldest is None or oldest > after + 1:
            return None
        keys: set[str] = set()
        for (k,) in c.execute("SELECT user_key FROM changes WHERE dataset = ? AND gen > ? AND gen <= ?",
                              (dataset, after, upto)):
            if k is None:
                return None
            keys.add(k)
        return keys

    # ---------------------------------------------------------------- tombstones
    def add_tombstone(self, dataset: str, user_id: str) -> bool:
        """Record that ``user_id`` was forgotten; False when it already was."""
        cur = self._conn().execute(
            "INSERT OR IGNORE INTO tombstones (dataset, user_key, forgotten_at) VALUES (?, ?, ?)",
            (dataset, user_key(dataset, user_id), datetime.now(UTC).isoformat(timespec="seconds")))
        return cur.rowcount == 1

    def tombstones(self, dataset: str) -> set[str]:
        return {k for (k,) in self._conn().execute("SELECT user_key FROM tombstones WHERE dataset = ?", (dataset,))}

    def forgotten(self, dataset: str, users: Iterable[str]) -> set[str]:
        """The ones among ``users`` that were forgotten."""
        dead = self.tombstones(dataset)
        if not dead:
            return set()
        return {u for u in set(users) if user_key(dataset, u) in dead}


_states: dict[Path, StoreState] = {}
_states_lock = threading.Lock()


def store_state(settings: Settings) -> StoreState:
    """The (per-process shared) state object of ``settings.home``."""
    path = state_path(settings)
    with _states_lock:
        st = _states.get(path)
        if st is None or not path.exists():
            st = _states[path] = StoreState(path)
        return st
