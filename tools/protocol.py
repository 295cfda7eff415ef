"""``ToolboxProtocol``: the typed seam between the agent and the tools.

What the agent (and anything else that drives the tools on a person's behalf: the LangChain
integration, the agent eval) may call, with the result type of each call. Every result exposes
its evidence the same way, ``result.evidence: list[Evidence]`` (:class:`~evorec.tools.evidence.HasEvidence`).

Two implementations: :class:`evorec.tools.toolbox.Toolbox` (the real engines) and
:class:`evorec.evals.toolbox_double.ToolboxDouble` (a small in-memory catalog for unit tests,
and the eval's red-team proxy over a real toolbox). mypy checks both against this protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only: importing the trend results would load statsmodels
    from evorec.tools.constraints import Constraints
    from evorec.tools.forecast.result import InterestForecast
    from evorec.tools.recommendation import RankedList
    from evorec.tools.store.records import ItemHit, ItemSearch, UserHistory
    from evorec.tools.trends.results import UserTrends


class ToolboxProtocol(Protocol):
    """The tools over one dataset. Unknown users get cold-start answers, never exceptions."""

    @property
    def dataset_name(self) -> str: ...

    @property
    def categories(self) -> list[str]:
        """The catalog's categories, in a fixed order."""
        ...

    def known_user(self, user_id: str) -> bool: ...

    def get_user_history(self, user_id: str, since: int | None = None, until: int | None = None,
                         limit: int | None = 50, query: str | None = None) -> UserHistory:
        """Events oldest first within [since, until] (unix seconds), the ``limit`` most recent; with ``query``:
        the events most similar to it, best first."""
        ...

    def forecast_interests(self, user_id: str, horizon: int = 10) -> InterestForecast: ...

    def detect_trends(self, user_id: str) -> UserTrends: ...

    def rank_candidates(self, user_id: str, constraints: Constraints | None = None) -> RankedList: ...

    def similar_items(self, user_id: str, item: str, constraints: Constraints | None = None) -> RankedList:
        """Items like ``item`` (an item id or a title the person mentioned), under the user's constraints."""
        ...

    def search_items(self, text: str, k: int = 10) -> ItemSearch: ...

    def get_item(self, item_id: str) -> ItemHit | None: ...
