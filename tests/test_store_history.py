"""The Chroma history store against a real embedded store and a real ``chroma run`` server."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import numpy as np
import pytest

from evorec.errors import InvalidRequestError, NotFoundError, StoreUnavailableError
from evorec.settings import Settings
from evorec.tools.data.loader import load_dataset
from evorec.tools.data.schema import Dataset
from evorec.tools.data.synthetic import PlantedDrift
from evorec.tools.store.client import get_client
from evorec.tools.store.history import HistoryStore, event_ids, ingested_datasets
from evorec.tools.store.records import EventIn


def _settings(mode: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if mode == "http":
        host, port = request.getfixturevalue("chroma_server")
        return Settings(home=tmp_path / "home", chroma_mode="http", chroma_host=host, chroma_port=port)
    return Settings(home=tmp_path / "home", chroma_mode="embedded")


@pytest.fixture(params=["embedded", "http"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Settings, str]:
    """Settings for an empty store plus a dataset name no other test uses."""
    return _settings(request.param, tmp_path, request), f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module", params=["embedded", "http"])
def ingested(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             synthetic_dir: Path) -> tuple[HistoryStore, Dataset]:
    """One ingested small synthetic store per mode, shared by read-only tests."""
    settings = _settings(request.param, tmp_path_factory.mktemp(f"store-{request.param}"), request)
    ds = load_dataset("synthetic", path=synthetic_dir)
    store = HistoryStore.open(settings, f"ro{uuid.uuid4().hex[:8]}")
    store.ingest(ds, progress=False)
    return store, ds


@pytest.fixture
def fresh_ingested(fresh: tuple[Settings, str], synthetic_dataset: Dataset) -> tuple[Settings, str, HistoryStore]:
    """A ``fresh`` store with the small synthetic dataset ingested (writable: one per test)."""
    settings, name = fresh
    store = HistoryStore.open(settings, name)
    store.ingest(synthetic_dataset, progress=False)
    return settings, name, store


def _all_event_ids(store: HistoryStore) -> list[str]:
    return store._events_col.get(include=[])["ids"]


def test_ingest_counts_exact_and_idempotent(fresh: tuple[Settings, str], synthetic_dataset: Dataset) -> None:
    settings, name = fresh
    store = HistoryStore.open(settings, name)
    ds = synthetic_dataset
    first = store.ingest(ds, progress=False)
    assert first.events_written == len(ds.interactions) and first.items_embedded == ds.n_items
    again = store.ingest(ds, progress=False)
    assert again.events_written == 0 and again.items_embedded == 0 and again.events_skipped == len(ds.interactions)
    stats = store.stats()
    assert (stats.events, stats.items, stats.complete) == (len(ds.interactions), ds.n_items, True)
    assert stats.fingerprint == ds.fingerprint()
    assert name in ingested_datasets(settings)


def test_interrupted_ingest_resumes_without_duplicates(fresh: tuple[Settings, str],
                                                       synthetic_dataset: Dataset) -> None:
    settings, name = fresh
    ds = synthetic_dataset
    store = HistoryStore.open(settings, name)

    def abort(written: int, total: int) -> None:
        if written >= 1000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.ingest(ds, progress=False, on_batch=abort, batch_size=500)
    landed = store.stats().events  # batches in flight when it stopped still land, like a kill
    assert 1000 <= landed < len(ds.interactions)
    assert not store.is_ingested
    resumed = HistoryStore.open(settings, name).ingest(ds, progress=False, batch_size=500)
    assert resumed.events_skipped == landed
    assert resumed.events_written == len(ds.interactions) - landed
    ids = _all_event_ids(store)
    assert len(ids) == len(set(ids)) == len(ds.interactions)
    assert sorted(ids) == sorted(event_ids(ds.interactions["user_id"].tolist(), ds.interactions["item_id"].tolist(),
                                           ds.interactions["ts"].tolist()))
    assert store.is_ingested


def test_history_is_time_ordered_with_window_and_limit(ingested: tuple[HistoryStore, Dataset]) -> None:
    store, ds = ingested
    for user in ds.interactions["user_id"].unique()[:10]:
        expected = ds.user_events(user)
        h = store.user_history(user)
        assert h.known and h.total_events == len(expected)
        assert [e.item_id for e in h.events] == expected["item_id"].tolist()
        assert [e.ts for e in h.events] == expected["ts"].tolist()
        mid = int(expected["ts"].iloc[len(expected) // 2])
        late = store.user_history(user, since=mid)
        assert [e.ts for e in late.events] == [t for t in expected["ts"] if t >= mid]
        early = store.user_history(user, until=mid)
        assert [e.ts for e in early.events] == [t for t in expected["ts"] if t < mid]
        last = store.user_history(user, limit=5)
        assert [e.item_id for e in last.events] == expected["item_id"].tolist()[-5:]
        assert last.total_events == len(expected)
    h = store.user_history(ds.interactions["user_id"].iloc[0], since="2000-01-01", until="2100-01-01T00:00:00Z")
    assert h.events and all(e.categories for e in h.events)
    assert h.summary().startswith("In ") and "your" in h.summary() and h.user_id not in h.summary()


def test_history_events_carry_item_facts(ingested: tuple[HistoryStore, Dataset]) -> None:
    store, ds = ingested
    user = ds.interactions["user_id"].iloc[0]
    items = ds.items.set_index("item_id")
    for e in store.user_history(user).events:
        assert e.title == items.loc[e.item_id, "title"]
        assert e.categories == items.loc[e.item_id, "categories"]
        assert e.date == np.datetime64(e.ts, "s").astype("datetime64[D]").astype(str)


def test_warm_cache_serves_reads_and_stays_exact_after_writes(fresh_ingested: tuple[Settings, str, HistoryStore],
                                                               synthetic_dataset: Dataset) -> None:
    settings, name, store = fresh_ingested
    ds = synthetic_dataset
    assert store.warm() == len(ds.interactions)
    user = ds.interactions["user_id"].iloc[0]
    assert [e.item_id for e in store.user_history(user).events] == ds.user_events(user)["item_id"].tolist()
    assert store.user_history("stranger").known is False
    item = ds.items["item_id"].iloc[0]
    store.add_events([EventIn(user_id="stranger", item_id=item, timestamp=5)])
    assert [e.item_id for e in store.user_history("stranger").events] == [item]
    # a second store object on the same location shares the cache and sees the write
    assert HistoryStore.open(settings, name).user_history("stranger").known
    store.delete_user(user)
    assert store.user_history(user).known is False


def test_unknown_user_is_explicit_and_empty(ingested: tuple[HistoryStore, Dataset]) -> None:
    store, _ = ingested
    h = store.user_history("nobody-here")
    assert (h.known, h.events, h.total_events) == (False, [], 0)
    assert h.summary() == "You have no history here yet."
    assert store.search_user_history("nobody-here", "space").known is False


def test_semantic_search_inside_one_history(ingested: tuple[HistoryStore, Dataset],
                                            synthetic_truth: list[PlantedDrift]) -> None:
    store, ds = ingested
    switch = next(d for d in synthetic_truth if d.kind == "sudden_switch")
    user = switch.user_id
    own_items = set(ds.user_events(user)["item_id"])
    target = store.user_history(user).events[3]
    query = ds.item_text()[target.item_id]
    res = store.search_user_history(user, query, k=5)
    assert res.known and res.query == query
    assert res.events[0].item_id == target.item_id and res.events[0].similarity > 0.99
    assert {e.item_id for e in res.events} <= own_items
    sims = [e.similarity for e in res.events]
    assert sims == sorted(sims, reverse=True)
    # a genre query ranks that genre's items first
    by_genre = store.search_user_history(user, f"{switch.to_category} films", k=5)
    assert sum(switch.to_category in e.categories for e in by_genre.events) >= 3


def test_search_items_and_get_items(ingested: tuple[HistoryStore, Dataset]) -> None:
    store, ds = ingested
    row = ds.items.iloc[7]
    hits = store.search_items(ds.item_text()[row["item_id"]], k=3)
    assert hits[0].item_id == row["item_id"] and hits[0].score > 0.99
    horror = store.search_items("haunted house with ghosts and demons", k=5)
    assert sum("Horror" in h.categories for h in horror) >= 4
    got = store.get_items([ds.items.iloc[2]["item_id"], "missing", ds.items.iloc[0]["item_id"]])
    assert [g.item_id for g in got] == [ds.items.iloc[2]["item_id"], ds.items.iloc[0]["item_id"]]
    ids, matrix = store.item_embeddings()
    assert ids == ds.items["item_id"].tolist()
    assert matrix.shape == (ds.n_items, 384) and np.allclose(np.linalg.norm(matrix, axis=1), 1, atol=1e-4)
    with pytest.raises(InvalidRequestError):
        store.search_items("  ")


def test_add_events_then_history_reflects_them(fresh: tuple[Settings, str], synthetic_dataset: Dataset) -> None:
    settings, name = fresh
    ds = synthetic_dataset
    store = HistoryStore.open(settings, name)
    with pytest.raises(NotFoundError):
        store.add_events([EventIn(user_id="u1", item_id="i0001", timestamp=1)])
    store.ingest(ds, progress=False)
    user = ds.interactions["user_id"].iloc[0]
    before = store.user_history(user)  # warms the cache: the write must invalidate it
    last_ts = before.events[-1].ts
    item = ds.items["item_id"].iloc[-1]
    report = store.add_events([EventIn(user_id=user, item_id=item, timestamp=last_ts + 3600, rating=5)])
    assert report.events_written == 1
    after = store.user_history(user)
    assert after.total_events == before.total_events + 1
    assert after.events[-1].item_id == item and after.events[-1].rating == 5.0
    again = store.add_events([EventIn(user_id=user, item_id=item, timestamp=last_ts + 3600, rating=5)])
    assert (again.events_written, again.events_skipped) == (0, 1)
    assert store.user_history(user).total_events == after.total_events
    assert store.stats().events == len(ds.interactions) + 1
    # ISO timestamps and brand-new users
    store.add_events([EventIn(user_id="newbie", item_id=item, timestamp="2030-05-01T10:00:00Z")])
    nb = store.user_history("newbie")
    assert nb.known and nb.events[0].date == "2030-05-01"
    with pytest.raises(InvalidRequestError, match="unknown item"):
        store.add_events([EventIn(user_id=user, item_id="no-such-item", timestamp=1)])
    with pytest.raises(InvalidRequestError):
        store.add_events([EventIn(user_id=user, item_id=item, timestamp="yesterday-ish")])


def test_same_second_ties_keep_insertion_order(fresh_ingested: tuple[Settings, str, HistoryStore],
                                               synthetic_dataset: Dataset) -> None:
    store = fresh_ingested[2]
    items = synthetic_dataset.items["item_id"].tolist()[:3]
    store.add_events([EventIn(user_id="tie", item_id=i, timestamp=1_900_000_000) for i in items])
    assert [e.item_id for e in store.user_history("tie").events] == items


def test_delete_user_removes_every_event(fresh_ingested: tuple[Settings, str, HistoryStore],
                                        synthetic_dataset: Dataset) -> None:
    settings, name, store = fresh_ingested
    ds = synthetic_dataset
    user = ds.interactions["user_id"].iloc[0]
    n = len(ds.user_events(user))
    assert store.user_history(user).known
    assert store.delete_user(user) == n
    assert store.user_history(user).known is False
    assert store._events_col.get(where={"user_id": user}, include=[])["ids"] == []
    assert not any(i.startswith(f"{user}|") for i in _all_event_ids(store))
    assert store.stats().events == len(ds.interactions) - n
    # another process's view (a fresh client) sees the deletion too
    other = HistoryStore(settings, name, get_client(settings, fresh=True))
    assert other.user_history(user).known is False
    assert store.delete_user(user) == 0


def test_changed_dataset_rebuilds_store(fresh_ingested: tuple[Settings, str, HistoryStore],
                                       synthetic_dataset: Dataset) -> None:
    store, ds = fresh_ingested[2], synthetic_dataset
    dropped = ds.interactions["user_id"].iloc[0]
    smaller = Dataset(name=ds.name, interactions=ds.interactions[ds.interactions["user_id"] != dropped].copy(),
                      items=ds.items.copy(), categories=list(ds.categories))
    report = store.ingest(smaller, progress=False)
    assert report.replaced
    assert store.stats().events == len(smaller.interactions)
    assert store.user_history(dropped).known is False


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    settings = Settings(home=tmp_path, chroma_mode="http", chroma_host="127.0.0.1", chroma_port=port)
    with pytest.raises(StoreUnavailableError, match=f"127.0.0.1:{settings.chroma_port}"):
        HistoryStore.open(settings, "synthetic")


def test_bad_dataset_name_rejected(tmp_settings: Settings) -> None:
    with pytest.raises(InvalidRequestError):
        HistoryStore.open(tmp_settings, "bad name!")


def test_category_counts_per_bucket(ingested: tuple[HistoryStore, Dataset]) -> None:
    store, ds = ingested
    user = ds.interactions["user_id"].iloc[0]
    events = ds.user_events(user)
    cats = dict(zip(ds.items["item_id"], ds.items["categories"], strict=True))
    for bucket in ("week", "month"):
        cc = store.category_counts(user, bucket=bucket)
        assert cc.known and sum(cc.totals) == len(events)
        assert len(cc.starts) == len(cc.totals) and cc.starts == sorted(cc.starts)
        for c, series in cc.counts.items():
            assert sum(series) == sum(c in cats[i] for i in events["item_id"])
    month = store.category_counts(user, bucket="month")
    assert all(s.endswith("-01") for s in month.starts)
    first = np.datetime64(int(events["ts"].iloc[0]), "s").astype("datetime64[M]").astype(str)
    assert month.starts[0] == f"{first}-01" and month.totals[0] >= 1
    assert store.category_counts("nobody").known is False
    with pytest.raises(InvalidRequestError):
        store.category_counts(user, bucket="fortnight")
