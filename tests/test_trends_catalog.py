"""Catalog trends: planted rising items / new releases surface as trending; falling ones do not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evorec.tools.data.synthetic import generate_synthetic, load_truth
from evorec.tools.trends import TrendService, catalog_trends


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame, Path]:
    d = generate_synthetic(tmp_path_factory.mktemp("syncat"), seed=7)
    ints = pd.read_csv(d / "interactions.csv").rename(columns={"timestamp": "ts"})
    items = pd.read_csv(d / "items.csv")
    items["categories"] = items["categories"].str.split("|")
    return ints, items, d


def test_trending_items_are_the_planted_risers(synthetic: tuple[pd.DataFrame, pd.DataFrame, Path]) -> None:
    ints, items, d = synthetic
    truth = load_truth(d).item_trends
    c = catalog_trends(ints, items)
    ids = c.item_ids()
    assert len(ids) >= 10
    up = set(truth.rising) | set(truth.new_releases)
    assert sum(i in up for i in ids[:20]) / min(20, len(ids)) >= 0.7
    assert not set(ids) & set(truth.falling)
    assert all(e.label in ("rising", "emerging") and e.change_low > 0 for e in c.items)
    assert [e.score for e in c.items] == sorted((e.score for e in c.items), reverse=True)
    ev = c.evidence
    assert ev[0].id == f"ev:trending:{ids[0]}" and ev[0].kind == "trending" and ev[0].item_id == ids[0]
    assert ev[0].dates["as_of"] == c.as_of_date and "%" in ev[0].text
    assert {e.key for e in c.categories} <= set(load_truth(d).categories)


def test_catalog_is_cached_and_handles_tiny_input(synthetic: tuple[pd.DataFrame, pd.DataFrame, Path]) -> None:
    ints, items, _ = synthetic
    svc = TrendService()
    a = svc.catalog_trends(ints, items, key="syn7")
    assert svc.catalog_trends(ints, items, key="syn7") is a
    tiny = catalog_trends(ints.head(5), items)
    assert tiny.status == "insufficient_history" and tiny.items == [] and "insufficient" in tiny.summary()


def test_as_of_cuts_the_future(synthetic: tuple[pd.DataFrame, pd.DataFrame, Path]) -> None:
    ints, items, _ = synthetic
    cut = int(np.quantile(ints["ts"], 0.5))
    c = catalog_trends(ints, items, as_of=cut)
    assert c.as_of <= cut and c.n_interactions == int((ints["ts"] <= cut).sum())
