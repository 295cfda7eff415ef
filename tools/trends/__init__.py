"""Statistical trend models of each user's interests (statsmodels) and of the catalog.

Entry points: ``TrendService(categories).user_trends(user_id, events) -> UserTrends`` and
``catalog_trends(interactions, items) -> CatalogTrends``.
"""

from evorec.tools.trends.catalog import CatalogTrends, TrendingEntry, catalog_trends
from evorec.tools.trends.config import TrendConfig
from evorec.tools.trends.engine import analyse_user
from evorec.tools.trends.events import TrendEvent, normalise_events
from evorec.tools.trends.results import (
    LABELS,
    CategoryForecast,
    CategoryTrend,
    ChangePoint,
    Label,
    Switch,
    UserTrends,
)
from evorec.tools.trends.service import TrendService

__all__ = [
    "LABELS",
    "CatalogTrends",
    "CategoryForecast",
    "CategoryTrend",
    "ChangePoint",
    "Label",
    "Switch",
    "TrendConfig",
    "TrendEvent",
    "TrendService",
    "TrendingEntry",
    "UserTrends",
    "analyse_user",
    "catalog_trends",
    "normalise_events",
]
