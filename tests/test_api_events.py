"""``POST /v1/events``: adaptive (the next answer changes, no retraining) and idempotent by event id."""

from __future__ import annotations

from collections import Counter

from fastapi.testclient import TestClient
from test_api_fixtures import known_users

from evorec.serving.api.engines import Engines
from evorec.tools.data.loader import load_dataset


def _artifact_state(api_services: Engines) -> dict[str, float]:
    root = api_services.settings.artifacts_dir("synthetic")
    return {str(p): p.stat().st_mtime for p in root.rglob("*") if p.is_file()} if root.exists() else {}


def test_burst_in_a_new_category_changes_the_next_answer(api_client: TestClient, api_services: Engines) -> None:
    ds = load_dataset("synthetic", settings=api_services.settings)
    user = known_users(api_services, 4)[3]
    mine = ds.user_events(user)
    seen = set(mine["item_id"])
    cats_by_item = dict(zip(ds.items["item_id"], ds.items["categories"], strict=True))
    own = Counter(c for i in mine["item_id"] for c in cats_by_item[i])
    new_cat = min(ds.categories, key=lambda c: own.get(c, 0))  # the category this user cares least about

    def share(answer: dict) -> float:
        return sum(new_cat in it["categories"] for it in answer["items"]) / max(len(answer["items"]), 1)

    before = api_client.post("/v1/recommend", json={"user_id": user, "k": 10, "llm": False}).json()
    artifacts = _artifact_state(api_services)
    burst = [i for i, cats in cats_by_item.items() if cats == [new_cat] and i not in seen][:12]
    assert len(burst) >= 8, "synthetic catalog too small for the burst"
    last_ts = int(mine["ts"].max())
    events = [{"user_id": user, "item_id": item, "ts": last_ts + 3600 * (n + 1), "rating": 5.0,
               "event_id": f"burst-{user}-{n}"} for n, item in enumerate(burst)]
    r = api_client.post("/v1/events", json={"events": events})
    assert r.status_code == 200, r.text
    assert r.json()["added"] == len(events) and r.json()["duplicates"] == 0

    after = api_client.post("/v1/recommend", json={"user_id": user, "k": 10, "llm": False}).json()
    assert share(after) > share(before), (new_cat, share(before), share(after))
    assert not {it["item_id"] for it in after["items"]} & set(burst)  # just seen: excluded
    interests = api_client.get(f"/v1/users/{user}/interests").json()
    assert interests["forecast"]["current_mix"].get(new_cat, 0) > 0.3
    assert _artifact_state(api_services) == artifacts  # no retraining happened


def test_resending_a_batch_never_duplicates(api_client: TestClient, api_services: Engines) -> None:
    user = known_users(api_services, 5)[4]
    ds = load_dataset("synthetic", settings=api_services.settings)
    items = list(ds.items["item_id"][:5])
    events = [{"user_id": user, "item_id": i, "ts": 1_900_000_000 + n} for n, i in enumerate(items)]
    first = api_client.post("/v1/events", json={"events": events}).json()
    total = api_services.toolbox.get_user_history(user, limit=5000).total_events
    second = api_client.post("/v1/events", json={"events": events}).json()
    assert first["event_ids"] == second["event_ids"]  # derived from (user, item, ts)
    assert second["added"] == 0 and second["duplicates"] == len(events)
    assert api_services.toolbox.get_user_history(user, limit=5000).total_events == total
    single = api_client.post("/v1/events", json=events[0])  # one event, not a batch
    assert single.status_code == 200 and single.json()["received"] == 1 and single.json()["added"] == 0


def test_bad_events_are_rejected_with_a_message(api_client: TestClient) -> None:
    r = api_client.post("/v1/events", json={"user_id": "1", "item_id": "no-such-item-xyz", "ts": 1_700_000_000})
    assert r.status_code in (400, 404, 422) and "no-such-item-xyz" in r.json()["error"]["message"]
    r = api_client.post("/v1/events", json={"user_id": "1", "item_id": "i", "ts": 10**14})
    assert r.status_code == 422
    r = api_client.post("/v1/events", json={"events": [{"user_id": "1"}]})
    assert r.status_code == 422 and "item_id" in r.json()["error"]["message"]


def test_an_event_id_of_another_user_cannot_take_their_event(api_services: Engines) -> None:
    """A key for one user sends that user's event with the id of another user's event: it stays theirs."""
    from test_api_fixtures import make_app

    from evorec.tools.store.history import event_ids

    attacker, victim = known_users(api_services, 10)[8:10]
    ds = load_dataset("synthetic", settings=api_services.settings)
    v = ds.user_events(victim).iloc[0]
    victim_id = event_ids([victim], [v["item_id"]], [int(v["ts"])])[0]
    client = TestClient(make_app(api_services, api_keys=f"mine:{attacker}"), raise_server_exceptions=False)
    auth = {"Authorization": "Bearer mine"}
    before = client.get(f"/v1/users/{attacker}/history", params={"limit": 5000}, headers=auth).json()["total_events"]
    victim_before = api_services.toolbox.get_user_history(victim, limit=5000)
    r = client.post("/v1/events", headers=auth, json={"user_id": attacker, "item_id": v["item_id"],
                                                      "ts": int(v["ts"]), "event_id": victim_id})
    assert r.status_code == 200, r.text
    assert (r.json()["added"], r.json()["duplicates"]) == (1, 0)  # was (0, 1): the victim's event became ours
    assert r.json()["changed"] == 0
    mine = client.get(f"/v1/users/{attacker}/history", params={"limit": 5000}, headers=auth).json()
    assert mine["total_events"] == before + 1
    victim_after = api_services.toolbox.get_user_history(victim, limit=5000)
    assert victim_after.total_events == victim_before.total_events
    assert victim_id in {e.event_id for e in victim_after.events}


def test_a_changed_resend_is_reported_as_changed(api_client: TestClient, api_services: Engines) -> None:
    user = known_users(api_services, 7)[6]
    item = str(load_dataset("synthetic", settings=api_services.settings).items["item_id"].iloc[7])
    event = {"user_id": user, "item_id": item, "ts": 1_950_000_000, "rating": 2.0, "event_id": "resend-1"}
    assert api_client.post("/v1/events", json=event).json()["added"] == 1
    same = api_client.post("/v1/events", json=event).json()
    assert (same["added"], same["duplicates"]) == (0, 1)
    r = api_client.post("/v1/events", json={**event, "rating": 5.0}).json()
    assert (r["added"], r["duplicates"]) == (0, 0)  # was reported as a duplicate
    assert (same["changed"], r["changed"], r["event_ids"]) == (0, 1, ["resend-1"])
    last = api_client.get(f"/v1/users/{user}/history", params={"limit": 1}).json()["events"][-1]
    assert (last["event_id"], last["rating"]) == ("resend-1", 5.0)
