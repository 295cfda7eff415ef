"""Adapter to the TRENDS engine: a user's per-category trend labels from a history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from cachetools import LRUCache

from evorec.tools.data.sequences import History
from evorec.tools.ranking.index import RankingIndex

if TYPE_CHECKING:
    from evorec.tools.trends.service import TrendService


def labels_from_trends(trends: Any) -> dict[str, str]:
    """{category: label} from a ``UserTrends`` (empty when the history was insufficient)."""
    if trends is None or not getattr(trends, "ok", False):
        return {}
    return {str(c): str(lab) for c, lab in trends.labels.items()}


def trends_for_history(user_id: str, history: History, index: RankingIndex) -> Any:
    from evorec.tools.trends.engine import analyse_user

    events = [(int(t), index.item_categories[int(i)], f"{user_id}:{k}")
              for k, (i, t) in enumerate(zip(history.items.tolist(), history.times.tolist(), strict=True))]
    return analyse_user(str(user_id), events, index.category_names)


_MEMO_SIZE = 20_000
_MEMO: LRUCache[tuple[bytes, bytes, tuple[str, ...]], dict[str, str]] = LRUCache(maxsize=_MEMO_SIZE)


def labels_for_history(user_id: str, history: History, index: RankingIndex) -> dict[str, str]:
    """Trend labels of a history; memoised on the history's content (offline fitting and evaluation score the same
    histories for several fusion variants, and the statsmodels fits dominate their cost)."""
    if len(history) == 0:
        return {}
    key = (history.items.tobytes(), history.times.tobytes(), tuple(index.category_names))
    hit = _MEMO.get(key)
    if hit is None:
        hit = _MEMO[key] = labels_from_trends(trends_for_history(user_id, history, index))
    return dict(hit)


def trend_service(categories: list[str]) -> TrendService:
    """The TRENDS engine's cached service (keyed on each user's last event, so new events refit)."""
    from evorec.tools.trends.service import TrendService

    return TrendService(categories)


def catalog_trends_of(index: RankingIndex, histories: list[History]) -> tuple[np.ndarray, dict[str, Any]] | None:
    """(score per item index, -inf unless rising/emerging; ``ev:trending:<item>`` evidence) from the TRENDS
    engine's catalog trends over ``histories``; None when there is too little data."""

    if not histories:
        return None
    items = np.concatenate([h.items for h in histories])
    times = np.concatenate([h.times for h in histories])
    return catalog_trends_from_events(index, items, times)


def catalog_trends_from_events(index: RankingIndex, items: np.ndarray, times: np.ndarray
                               ) -> tuple[np.ndarray, dict[str, Any]] | None:
    """As :func:`catalog_trends_of`, from everyone's events as (item index, time) arrays."""
    from evorec.tools.trends.catalog import catalog_trends

    if not len(items):
        return None
    ids = np.asarray(index.vocab.item_ids, dtype=object)
    ints = pd.DataFrame({"item_id": ids[items], "ts": times})
    cat = pd.DataFrame({"item_id": index.vocab.item_ids[1:], "title": index.titles[1:],
                        "categories": index.item_categories[1:]})
    ct = catalog_trends(ints, cat)
    if ct.status != "ok":
        return None
    score = np.full(index.n_items + 1, -np.inf)
    for e in ct.items:
        i = index.vocab.index.get(e.key)
        if i is not None:
            score[i] = e.score
    return score, {e.item_id: e for e in ct.evidence if e.item_id}
