"""Events are owned by their user; forgetting is durable (tombstones); caches follow the store generation.

Real embedded Chroma (and a real ``chroma run`` server plus a second process for cross-process coherence).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from evorec.errors import ConflictError
from evorec.settings import Settings
from evorec.tools.data.schema import Dataset
from evorec.tools.store.history import HistoryStore
from evorec.tools.store.ids import encode_event, event_ids, owner_of, scoped_id
from evorec.tools.store.records import EventIn


@pytest.fixture
def store(tmp_path: Path, synthetic_dataset: Dataset) -> tuple[HistoryStore, Dataset]:
    s = HistoryStore.open(Settings(home=tmp_path / "home", chroma_mode="embedded"), f"o{uuid.uuid4().hex[:8]}")
    s.ingest(synthetic_dataset, progress=False)
    return s, synthetic_dataset


def _two_users(ds: Dataset) -> tuple[str, str]:
    users = ds.interactions["user_id"].value_counts().index
    return str(users[0]), str(users[1])


def test_an_id_naming_another_users_event_cannot_take_it_over(store: tuple[HistoryStore, Dataset]) -> None:
    s, ds = store
    attacker, victim = _two_users(ds)
    v = ds.user_events(victim).iloc[0]
    victim_id = event_ids([victim], [v["item_id"]], [int(v["ts"])])[0]
    before = s.user_history(victim).total_events
    own = s.user_history(attacker).total_events
    rep = s.add_events([EventIn(user_id=attacker, item_id=v["item_id"], timestamp=int(v["ts"]), event_id=victim_id)])
    assert (rep.events_written, rep.events_skipped, rep.events_changed) == (1, 0, 0)  # a new event of the attacker
    assert s.user_history(victim).total_events == before  # the victim's event is untouched and still theirs
    assert victim_id in {e.event_id for e in s.user_history(victim).events}
    assert s.user_history(attacker).total_events == own + 1
    assert s.delete_user(attacker) == own + 1  # forgetting the attacker cannot delete the victim's event
    assert s.user_history(victim).total_events == before


def test_separators_inside_ids_cannot_collide() -> None:
    # user "a|b" + item "c" and user "a" + item "b|c" at the same second: distinct ids, each owned by its user
    ids = event_ids(["a|b", "a"], ["c", "b|c"], [5, 5])
    assert ids[0] != ids[1] and [owner_of(i) for i in ids] == ["a|b", "a"]
    assert event_ids(["u1"], ["i9"], [7]) == ["u1|i9|7"]  # ordinary ids keep the earlier scheme (old stores)
    forged = scoped_id("alice", "bob|50|881250949")
    assert owner_of(forged) == "alice" and forged != "bob|50|881250949"
    assert scoped_id("alice", "alice|x") == "alice|x"  # an id the store returned, sent back, is the same event
    assert owner_of(scoped_id("a|b", "c|1")) == "a|b" and owner_of(scoped_id("a", "b|c|1")) == "a"


def test_users_with_separators_keep_separate_events(store: tuple[HistoryStore, Dataset]) -> None:
    s, ds = store
    items = ds.items["item_id"].tolist()
    a, b = f"{items[0]}|x", items[0]  # user "<i0>|x" + item i1, user i0 + item "x|i1" cannot both exist as items,
    rep = s.add_events([EventIn(user_id=a, item_id=items[1], timestamp=100),  # so collide on user ids instead
                        EventIn(user_id=b, item_id=items[1], timestamp=100, event_id=f"x|{items[1]}|100")])
    assert rep.events_written == 2
    assert s.user_history(a).total_events == 1 and s.user_history(b).total_events == 1


def test_a_changed_resend_is_reported_as_changed(store: tuple[HistoryStore, Dataset]) -> None:
    s, ds = store
    user, _ = _two_users(ds)
    item, other = ds.items["item_id"].iloc[3], ds.items["item_id"].iloc[4]
    first = s.add_events([EventIn(user_id=user, item_id=item, timestamp=2_000_000_000, rating=3, event_id="e-1")])
    same = s.add_events([EventIn(user_id=user, item_id=item, timestamp=2_000_000_000, rating=3, event_id="e-1")])
    changed = s.add_events([EventIn(user_id=user, item_id=other, timestamp=2_000_000_000, rating=5, event_id="e-1")])
    assert (first.events_written, same.events_skipped, same.events_changed) == (1, 1, 0)
    assert (changed.events_written, changed.events_skipped, changed.events_changed) == (0, 0, 1)
    last = s.user_history(user, limit=1).events[-1]
    assert (last.event_id, last.item_id, last.rating) == ("e-1", other, 5.0)  # the client's id is shown back
    assert changed.event_ids == ["e-1"]


def test_ids_written_by_earlier_versions_still_work(store: tuple[HistoryStore, Dataset]) -> None:
    s, ds = store
    user, other = _two_users(ds)
    item = ds.items["item_id"].iloc[2]
    # an earlier version stored client ids as they came: "legacy-1" for user, "<user>|hijack" for other
    s._events_col.upsert(ids=["legacy-1", f"{user}|hijack"], embeddings=[[60.0], [60.0]],
                         metadatas=[encode_event(user, item, 1_900_000_000, 10**15, None),
                                    encode_event(other, item, 1_900_000_001, 10**15 + 1, None)])
    s._written([user, other])
    n = s.user_history(user).total_events
    rep = s.add_events([EventIn(user_id=user, item_id=item, timestamp=1_900_000_000, event_id="legacy-1")])
    assert (rep.events_written, rep.events_skipped) == (0, 1)  # the same event, not a second copy
    assert s.user_history(user).total_events == n
    with pytest.raises(ConflictError, match="another user"):  # never moves a record to another user
        s.add_events([EventIn(user_id=user, item_id=item, timestamp=5, event_id="hijack")])
    assert s.user_history(other).events[-1].event_id == f"{user}|hijack"


def test_forgotten_user_stays_forgotten_through_reingest(store: tuple[HistoryStore, Dataset], tmp_path: Path) -> None:
    s, ds = store
    user, _ = _two_users(ds)
    n = len(ds.user_events(user))
    assert s.delete_user(user) == n
    assert s.forgotten([user, "someone-else"]) == {user}
    again = HistoryStore.open(s.settings, s.dataset).ingest(ds, progress=False)  # `evorec ingest` again
    assert again.events_forgotten == n and again.events_written == 0
    assert not s.user_history(user).known
    assert s._events_col.get(where={"user_id": user}, include=[])["ids"] == []
    assert user not in s.events_frame()["user_id"].tolist()
    raw = (s.settings.home / "store_state.sqlite").read_bytes()
    assert user.encode() not in raw  # tombstones hold one-way keys, not the id


def test_cache_follows_generation_not_counts(store: tuple[HistoryStore, Dataset]) -> None:
    """Another process deletes one event and adds one (same count): this process's warm cache sees both."""
    s, ds = store
    a, b = _two_users(ds)
    s.warm()
    ha, hb = s.user_history(a).total_events, s.user_history(b).total_events
    count = s._events_col.count()
    gone = s._events_col.get(where={"user_id": a}, include=[], limit=1)["ids"]
    s._events_col.delete(ids=gone)  # what another worker's writes look like from here: Chroma, then the state
    s._events_col.upsert(ids=[f"{b}|new"], embeddings=[[60.0]],
                         metadatas=[encode_event(b, ds.items["item_id"].iloc[0], 1_900_000_000, 10**15, None)])
    s.state.bump(s.dataset, [a, b])
    assert s._events_col.count() == count
    assert s.user_history(a).total_events == ha - 1 and s.user_history(b).total_events == hb + 1
    assert s.generation() >= 1


_OTHER_PROCESS = """
import json, sys
from evorec.settings import Settings
from evorec.tools.store.history import HistoryStore
from evorec.tools.store.records import EventIn
cfg = json.loads(sys.argv[1])
s = HistoryStore.open(Settings(**cfg["settings"]), cfg["dataset"])
print(s.delete_user(cfg["forget"]))
s.add_events([EventIn(**e) for e in cfg["add"]])
"""


def test_another_process_forgets_and_adds_through_a_chroma_server(
        chroma_server: tuple[str, int], tmp_path: Path, synthetic_dataset: Dataset) -> None:
    host, port = chroma_server
    cfg = {"home": str(tmp_path / "home"), "chroma_mode": "http", "chroma_host": host, "chroma_port": port}
    ds = synthetic_dataset
    s = HistoryStore.open(Settings(**cfg), f"x{uuid.uuid4().hex[:8]}")
    s.ingest(ds, progress=False)
    s.warm()
    a, b = _two_users(ds)
    hb = s.user_history(b).total_events
    assert s.user_history(a).known
    item = ds.items["item_id"].iloc[0]
    add = [{"user_id": b, "item_id": item, "timestamp": 1_900_000_000 + k} for k in range(len(ds.user_events(a)))]
    run = subprocess.run([sys.executable, "-c", _OTHER_PROCESS, json.dumps(
        {"settings": cfg, "dataset": s.dataset, "forget": a, "add": add})], capture_output=True, text=True,
        timeout=300, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    assert run.returncode == 0, run.stderr[-2000:]
    assert s._events_col.count() == len(ds.interactions)  # one user's events out, as many in: same count
    assert not s.user_history(a).known
    assert s.user_history(b).total_events == hb + len(add)
