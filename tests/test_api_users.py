"""Per-user routes: interests JSON and chart, and forgetting a user everywhere."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from test_api_fixtures import known_users, parse_sse

from evorec.serving.api.engines import Engines
from evorec.tools.store.client import collection_names, get_client


def test_interests_json(api_client: TestClient, api_services: Engines) -> None:
    for other in [*known_users(api_services, 12)[8:], "cold-start-user"]:
        r = api_client.get(f"/v1/users/{other}/interests")
        assert r.status_code == 200, (other, r.text)
    user = known_users(api_services, 1)[0]
    r = api_client.get(f"/v1/users/{user}/interests")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["known"] is True and body["user_id"] == user
    assert body["forecast"]["forecast_mix"] and not body["forecast"]["cold_start"]
    assert body["trends"]


def test_interests_chart_is_a_png(api_client: TestClient, api_services: Engines) -> None:
    import matplotlib.image as mpimg

    user = known_users(api_services, 1)[0]
    r = api_client.get(f"/v1/users/{user}/interests.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(io.BytesIO(r.content), format="png")
    assert img.shape[0] >= 300 and img.shape[1] >= 600
    assert img[..., :3].std() > 0.05  # not a blank canvas
    cold = api_client.get("/v1/users/never-seen-user/interests.png")
    assert cold.status_code == 200 and cold.content[:4] == b"\x89PNG"


def test_forget_user_removes_everything(api_client: TestClient, api_services: Engines) -> None:
    user = known_users(api_services, 8)[7]
    chat = parse_sse(api_client.post("/v1/chat", json={"user_id": user, "message": "what next?"}).text)
    session_id = chat[0][1]["session_id"]
    item = chat[-1][1]["recommendations"]["items"][0]["item_id"]
    api_client.post("/v1/events", json={"user_id": user, "item_id": item, "ts": 1_900_000_000})
    assert api_services.toolbox.get_user_history(user).total_events > 0

    r = api_client.delete(f"/v1/users/{user}")
    assert r.status_code == 200, r.text
    assert r.json()["events_deleted"] > 0 and r.json()["sessions_deleted"] == 1

    history = api_services.toolbox.get_user_history(user, limit=5000)
    assert history.total_events == 0 and not history.known
    assert not api_services.toolbox.known_user(user)
    assert api_services.agent.sessions.list_user(user) == []
    assert api_client.get(f"/v1/sessions/{session_id}").status_code == 404
    assert api_services.toolbox.get_user_history(user, query="anything").events == []
    events_collection = get_client(api_services.settings).get_collection(collection_names("synthetic")[1])
    assert events_collection.get(where={"user_id": user})["ids"] == []  # nothing left in the store itself
    again = api_client.post("/v1/recommend", json={"user_id": user, "k": 3}).json()
    assert again["cold_start"] is True
    assert api_client.get(f"/v1/users/{user}/interests").json()["known"] is False


def test_forget_is_durable_listed_and_says_what_it_removed(api_client: TestClient, api_services: Engines) -> None:
    from evorec.tools.data.loader import load_dataset
    from evorec.tools.forecast.artifacts import read_manifest
    from evorec.tools.forecast.training_data import delta_from_store, served_dataset
    from evorec.tools.store.history import HistoryStore

    settings = api_services.settings
    listed = api_client.get("/v1/users", params={"limit": 500}).json()["users"]
    user = known_users(api_services, 12)[11]
    assert user in listed
    api_client.get(f"/v1/users/{user}/interests")  # warm this worker's caches
    r = api_client.delete(f"/v1/users/{user}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert user not in api_client.get("/v1/users", params={"limit": 500}).json()["users"]
    assert body["tombstone"] is True and body["removed"]["store_events"] == body["events_deleted"] > 0
    assert body["removed"]["training_delta_dataset_rows"] == body["events_deleted"]  # the model's data lost them
    assert body["removed"]["cache_entries"] >= 1 and "sessions" in body["removed"]
    assert "next retrain" in body["models"]
    assert user not in api_client.get("/v1/users", params={"limit": 500}).json()["users"]

    base = load_dataset("synthetic", settings=settings)
    again = HistoryStore.open(settings, "synthetic").ingest(base, progress=False)  # `evorec ingest` / prepare
    assert again.events_forgotten >= body["events_deleted"] and again.events_written == 0  # earlier tests forgot too
    assert api_client.get(f"/v1/users/{user}/history").json()["known"] is False
    assert user not in set(delta_from_store(settings, base).added.user_id)
    served = served_dataset(settings, base)  # what a restart serves: without the user, artifacts still load
    assert user not in set(served.interactions["user_id"])
    assert served.fingerprint() == read_manifest(settings, "synthetic").fingerprint
    again = api_client.post("/v1/recommend", json={"user_id": user, "k": 3, "llm": False}).json()
    assert again["cold_start"] is True
