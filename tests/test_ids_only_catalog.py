"""An ids-only catalog (interactions.csv without items.csv, like the public Amazon benchmarks) through the REAL
Toolbox: Chroma store, trends, ranking and the agent's plan-first answer all work with items known by id alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from evorec.agent import AgentService
from evorec.settings import Settings
from evorec.tools.data.loader import load_dataset
from evorec.tools.data.schema import Dataset

pytestmark = pytest.mark.slow


@pytest.fixture
def ids_only(tmp_path: Path, synthetic_dataset: Dataset) -> Dataset:
    inter = synthetic_dataset.interactions
    users = sorted(inter["user_id"].unique())[:25]
    d = tmp_path / "ids-only"
    d.mkdir()
    inter[inter["user_id"].isin(users)][["user_id", "item_id", "timestamp" if "timestamp" in inter else "ts"]] \
        .rename(columns={"ts": "timestamp"}).to_csv(d / "interactions.csv", index=False)
    ds = load_dataset("csv", path=d)
    assert not ds.has_item_text and ds.categories == []
    return ds


def test_agent_answers_over_an_ids_only_catalog(ids_only: Dataset, tmp_settings: Settings) -> None:
    from evorec.tools.store.history import HistoryStore
    from evorec.tools.toolbox import Toolbox

    HistoryStore.open(tmp_settings, ids_only.name).ingest(ids_only, progress=False)
    tb = Toolbox.open(tmp_settings, data=ids_only)
    try:
        user = ids_only.interactions["user_id"].iloc[0]
        seen = set(ids_only.user_events(user)["item_id"])
        res = AgentService(tb, tmp_settings).chat("s-ids", user, "What should I try next? top 5")
        assert res.degraded and len(res.items) == 5
        assert all(i.item_id in set(ids_only.items["item_id"]) and i.item_id not in seen for i in res.items)
        assert all(i.rationale.text and i.rationale.evidence_ids for i in res.items)
    finally:
        tb.close()
