"""Adapter to the TRENDS engine: a user's per-category trend labels from a history."""

from __future__ import annotations

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


def labels_for_history(user_id: str, history: History, index: RankingIndex) -> dict[str, str]:
    if len(history) == 0:
        return {}
    return labels_from_trends(trends_for_history(user_id, history, index))


def user_trends(user_id: str, events: list[Any], categories: list[str]) -> Any:
    """``UserTrends`` for store events, through the TRENDS engine's service when it exposes one."""
    try:
        from evorec.tools.trends import TrendService  # type: ignore[attr-defined]
    except ImportError:
        from evorec.tools.trends.engine import analyse_user

        return analyse_user(str(user_id), events, categories)
    return TrendService(categories).user_trends(str(user_id), events)
