"""Adapter to the TRENDS engine: a user's per-category trend labels from a history."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from evorec.tools.data.sequences import History
from evorec.tools.ranking.index import RankingIndex


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


_MEMO: OrderedDict[tuple[bytes, bytes, tuple[str, ...]], dict[str, str]] = OrderedDict()
_MEMO_SIZE = 20_000


def labels_for_history(user_id: str, history: History, index: RankingIndex) -> dict[str, str]:
    """Trend labels of a history; memoised on the history's content (offline fitting and evaluation score the same
    histories for several fusion variants, and the statsmodels fits dominate their cost)."""
    if len(history) == 0:
        return {}
    key = (history.items.tobytes(), history.times.tobytes(), tuple(index.category_names))
    hit = _MEMO.get(key)
    if hit is None:
        hit = _MEMO[key] = labels_from_trends(trends_for_history(user_id, history, index))
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return dict(hit)


def user_trends(user_id: str, events: list[Any], categories: list[str]) -> Any:
    """``UserTrends`` for store events, through the TRENDS engine's service when it exposes one."""
    try:
        from evorec.tools.trends import TrendService  # type: ignore[attr-defined]
    except ImportError:
        from evorec.tools.trends.engine import analyse_user

        return analyse_user(str(user_id), events, categories)
    return TrendService(categories).user_trends(str(user_id), events)
