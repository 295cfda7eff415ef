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
