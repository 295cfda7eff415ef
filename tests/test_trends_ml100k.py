"""The engine on real logged data: bursty MovieLens users (sessions of minutes, gaps of months) never break it."""

from __future__ import annotations

from pathlib import Path

import pytest

from evorec.tools.data.loader import load_dataset
from evorec.tools.trends import TrendService


@pytest.mark.ml100k
def test_ml100k_users_get_answers(ml100k_dir: Path) -> None:
    ds = load_dataset("ml-100k", path=ml100k_dir)
    cats = dict(zip(ds.items["item_id"], ds.items["categories"], strict=True))
    svc = TrendService(ds.categories)
    users = ds.interactions["user_id"].unique()[:60]
    for uid in users:
        ev = ds.user_events(uid)
        t = svc.user_trends(uid, [(int(ts), list(cats[i]), f"{uid}:{r}") for ts, i, r in
                                  zip(ev["ts"], ev["item_id"], ev["row"], strict=True)])
        assert t.ok, t.reason
        assert {c.category for c in t.categories} <= set(ds.categories)
        for c in t.categories:
            f = c.forecast
            assert 0 <= f.window_lower <= f.window_mean + 1e-9 <= f.window_upper + 2e-9 <= 1 + 2e-9
        assert sum(c.recent_share for c in t.categories) == pytest.approx(1.0, abs=1e-3)
