"""The Toolbox facade end to end on a real embedded Chroma store, a tiny trained forecaster and fitted fusion
weights: ranking, cold start, adaptive ingest (next answer reflects new events), forgetting a user, the CLI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from evorec.errors import ArtifactError, InvalidRequestError, NotFoundError
from evorec.settings import Settings
from evorec.tools.constraints import Constraints
from evorec.tools.data.loader import load_dataset
from evorec.tools.data.schema import Dataset
from evorec.tools.forecast.artifacts import train_artifacts
from evorec.tools.ranking.training import fit_fusion, load_fusion
from evorec.tools.store.history import HistoryStore
from evorec.tools.toolbox import Toolbox

KNOWN_SOURCES = {"forecaster", "cooc", "trending", "semantic", "popular", "backfill"}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, synthetic_dir: Path) -> Iterator[tuple[Settings, Dataset, Toolbox]]:
    torch.set_num_threads(1)
    settings = Settings(home=tmp_path_factory.mktemp("toolbox") / "home", chroma_mode="embedded", llm="none",
                        threads=1, device="cpu")
    ds = load_dataset("synthetic", path=synthetic_dir, settings=settings)
    HistoryStore.open(settings, ds.name).ingest(ds, progress=False)
    train_artifacts(ds, settings, epochs=2, progress=False, config={"hidden": 16, "blocks": 1, "heads": 1})
    fit_fusion(settings, ds, progress=False)
    tb = Toolbox.open(settings, data=ds)
    yield settings, ds, tb
    tb.close()


def test_rank_candidates_returns_grounded_fused_list(env: tuple[Settings, Dataset, Toolbox]) -> None:
    _, ds, tb = env
    assert tb.health()["fusion"]["fitted"] is True
    user = ds.interactions["user_id"].iloc[0]
    r = tb.rank_candidates(user, Constraints(k=10, exclude_categories=["drama"]))
    assert not r.cold_start and len(r.items) == 10 and r.shortfall is None
    assert r.constraints.exclude_categories == ["Drama"]
    seen = set(ds.user_events(user)["item_id"])
    for it in r.items:
        assert "Drama" not in it.categories and it.item_id not in seen
        assert set(it.sources) <= KNOWN_SOURCES and it.sources
        assert all(e in r.evidence_by_id() for e in it.evidence_ids)
        assert it.template_rationale
    assert {"history", "rank", "explain", "total"} <= set(r.timings_ms)


def test_trend_evidence_is_cited_when_a_category_rises(env: tuple[Settings, Dataset, Toolbox]) -> None:
    _, ds, tb = env
    cited = 0
    for user in sorted(ds.interactions["user_id"].unique())[:30]:
        r = tb.rank_candidates(user, Constraints(k=20))
        for it in r.items:
            for eid in it.evidence_ids:
                assert eid in r.evidence_by_id()
                if eid.startswith("ev:trend:"):
                    assert tb.detect_trends(user).get(eid.split(":", 2)[2]).label in ("rising", "emerging")
                    cited += 1
    assert cited > 0, "no rising/emerging category cited for 30 drifting users"


def test_add_events_is_reflected_immediately(env: tuple[Settings, Dataset, Toolbox]) -> None:
    _, ds, tb = env
    user = ds.interactions["user_id"].iloc[5]
    before = tb.rank_candidates(user, Constraints(k=5))
    n_before = tb.forecast_interests(user).n_events
    top = before.items[0].item_id
    ts = int(ds.interactions["ts"].max()) + 3600
    rep = tb.add_events([{"user_id": user, "item_id": top, "timestamp": ts, "rating": 5}])
    assert rep.events_written == 1
    after = tb.rank_candidates(user, Constraints(k=5))
    assert top not in [it.item_id for it in after.items]
    assert tb.forecast_interests(user).n_events == n_before + 1
    assert tb.get_user_history(user, limit=1).events[-1].item_id == top


def test_cold_start_user_warms_up_then_is_forgotten(env: tuple[Settings, Dataset, Toolbox]) -> None:
    _, ds, tb = env
    user = "brand-new-user"
    cold = tb.rank_candidates(user, Constraints(k=5))
    assert cold.cold_start and "ev:cold_start" in cold.evidence_by_id() and not tb.known_user(user)
    assert all(set(it.sources) <= {"popular", "trending", "backfill"} for it in cold.items)
    ts = int(ds.interactions["ts"].max())
    picks = [cold.items[0].item_id, cold.items[1].item_id, cold.items[2].item_id]
    tb.add_events([{"user_id": user, "item_id": i, "timestamp": ts + 60 * k} for k, i in enumerate(picks)])
    warm = tb.rank_candidates(user, Constraints(k=5))
    assert not warm.cold_start and tb.known_user(user)
    assert not set(picks) & {it.item_id for it in warm.items}
    assert tb.delete_user(user).events_deleted == 3
    assert tb.rank_candidates(user, Constraints(k=5)).cold_start


def test_bad_requests_are_clear_errors(env: tuple[Settings, Dataset, Toolbox]) -> None:
    _, _, tb = env
    with pytest.raises(InvalidRequestError, match="unknown category"):
        tb.rank_candidates("u0001", Constraints(include_categories=["Nope"]))


def test_fusion_artifacts_refuse_other_data(env: tuple[Settings, Dataset, Toolbox]) -> None:
    settings, ds, _ = env
    assert load_fusion(settings, ds.name, ds.fingerprint()) is not None
    with pytest.raises(ArtifactError, match="other data"):
        load_fusion(settings, ds.name, "0" * 16)


def test_weights_from_an_older_feature_set_degrade_to_forecaster_order(env: tuple[Settings, Dataset, Toolbox],
                                                                       tmp_path: Path) -> None:
    """A release that adds a fusion feature must not break a home fitted before it: answers keep coming, in the
    forecaster's order, and health says why and what to run."""
    import json
    import shutil

    from evorec.tools.ranking.training import fusion_dir

    settings, ds, _ = env
    old_home = tmp_path / "home"
    shutil.copytree(settings.home, old_home)
    old = settings.model_copy(update={"home": old_home})
    model_json = fusion_dir(old, ds.name) / "model.json"
    meta = json.loads(model_json.read_text())
    meta["features"] = [f for f in meta["features"] if f != "same_day"]  # what 2026-12-04 stored
    model_json.write_text(json.dumps(meta))
    current = Toolbox.open(settings, data=ds)  # positive control: the untouched home is fitted
    degraded = Toolbox.open(old, data=ds)
    try:
        assert current.health()["fusion"]["fitted"]
        health = degraded.health()["fusion"]
        assert not health["fitted"] and "train-fusion" in health["error"]
        user = ds.interactions["user_id"].iloc[1]
        assert len(degraded.rank_candidates(user, Constraints(k=5)).items) == 5
    finally:
        current.close()
        degraded.close()


def test_cli_recommend_prints_items_sources_and_rationales(env: tuple[Settings, Dataset, Toolbox],
                                                          synthetic_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings, ds, _ = env
    from evorec.serving.cli.main import app
    from evorec.settings import get_settings

    monkeypatch.setenv("EVOREC_HOME", str(settings.home))
    monkeypatch.setenv("EVOREC_THREADS", "1")
    get_settings.cache_clear()
    user = ds.interactions["user_id"].iloc[2]
    try:
        res = CliRunner().invoke(app, ["recommend", user, "-k", "4", "--dataset", "synthetic", "--path",
                                       str(synthetic_dir), "--exclude-genre", "Comedy", "--year-min", "1950"],
                                 env={"COLUMNS": "200"})
        bad = CliRunner().invoke(app, ["recommend", user, "-k", "0", "--dataset", "synthetic", "--path",
                                       str(synthetic_dir)])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 0, res.output
    assert re.search(r"ev:\w+:", res.output)
    assert len(re.findall(r"^\s+\d\. [A-Z]", res.output, flags=re.M)) == 4
    assert bad.exit_code != 0


def test_open_by_name_serves_what_was_ingested(env: tuple[Settings, Dataset, Toolbox]) -> None:
    settings, ds, _ = env
    tb = Toolbox.open(settings, "synthetic")  # the store's manifest names the ingested directory
    assert tb.data.fingerprint() == ds.fingerprint() and tb.forecaster is not None
    assert tb.health()["fusion"]["fitted"]


def test_similar_items_by_title_are_grounded_and_constrained(env: tuple[Settings, Dataset, Toolbox]) -> None:
    """The ``similar_items`` tool over the real engines: its module composes the Toolbox's primitives
    (``find_item``, ``get_user_history``, ``item_neighbours``) under the session's constraints."""
    from evorec.agent.tool_calls import UserBoundTools

    _, ds, tb = env
    user = ds.interactions["user_id"].iloc[0]
    seen = set(ds.user_events(user)["item_id"])
    anchor_id = ds.interactions["item_id"].value_counts().index[0]  # popular: it co-occurs with many items
    anchor = tb.get_item(anchor_id)
    assert anchor is not None
    cat = anchor.categories[0]
    kit = UserBoundTools(tb, user, Constraints(k=10, include_categories=[cat.lower()]))
    out = kit.call("similar_items", {"item": anchor.title.lower(), "k": 5})
    assert out.ok and out.ranked is not None, out.error
    r = out.ranked
    assert len(r.items) == 5 and r.shortfall is None and r.constraints.include_categories == [cat]
    evidence = r.evidence_by_id()
    assert f"ev:item:{anchor_id}" in evidence and anchor.title in evidence[f"ev:item:{anchor_id}"].text
    for it in r.items:
        assert it.item_id != anchor_id and it.item_id not in seen and cat in it.categories
        like = evidence[it.evidence_ids[0]]
        assert like.kind == "like" and like.item_id == it.item_id and anchor.title in like.text
        sim, co = like.numbers["similarity"], like.numbers["co_occurrences"]
        assert sim > 0 or co > 0
        # the reasons in words for the person (the figures stay in ``numbers``)
        assert ("close to" in like.text) == (sim > 0) and (" also " in like.text) == (co > 0), like.text
        assert not any(ch.isdigit() for ch in like.text.replace(it.title, "").replace(anchor.title, ""))
        assert set(it.sources) <= {"similar", "cooc"} and it.sources
    assert [it.score for it in r.items] == sorted((it.score for it in r.items), reverse=True)
    by_id = kit.call("similar_items", {"item": anchor_id, "k": 5}).ranked
    assert by_id is not None and [i.item_id for i in by_id.items] == [i.item_id for i in r.items]  # same item
    described = kit.call("similar_items", {"item": anchor.title + " (the one everybody saw)", "k": 3}).ranked
    assert described is not None and described.items  # not a title: the closest catalog text anchors it
    blank = kit.call("similar_items", {"item": "  "})
    assert not blank.ok and "must not be empty" in (blank.error or "")

    # the primitive: the most alike items for anyone, best first, the anchor never among them
    near = tb.item_neighbours(anchor_id, k=50)
    assert near.anchor.item_id == anchor_id and len(near.neighbours) == 50
    assert anchor_id not in {n.item_id for n in near.neighbours}
    assert [n.score for n in near.neighbours] == sorted((n.score for n in near.neighbours), reverse=True)
    assert [i.item_id for i in r.items] == [n.item_id for n in near.neighbours
                                            if cat in n.categories and n.item_id not in seen][:5]
    with pytest.raises(NotFoundError):
        tb.item_neighbours("no-such-item")
    with pytest.raises(InvalidRequestError):
        tb.find_item("  ")


def test_active_users_leave_out_the_forgotten_and_the_delta_is_written(env: tuple[Settings, Dataset, Toolbox],
                                                                       tmp_path: Path) -> None:
    """The public methods serving uses for ``GET /v1/users`` and the retrain job (runs last: it forgets a user)."""
    from evorec.tools.forecast.training_data import DataDelta

    _, ds, tb = env
    ranked = [str(u) for u in ds.interactions["user_id"].value_counts().index]
    assert tb.active_users(5) == ranked[:5]
    tb.delete_user(ranked[0])
    assert tb.active_users(5) == ranked[1:6]
    path = tmp_path / "inputs" / "job.delta.json"
    added = tb.write_training_delta(path)
    delta = DataDelta.model_validate_json(path.read_text())
    assert delta.dataset == tb.dataset_name and delta.n_added == added
    assert delta.n_removed >= int((ds.interactions["user_id"].astype(str) == ranked[0]).sum())
