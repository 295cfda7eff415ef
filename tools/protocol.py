"""``ToolboxProtocol``: the typed seam between the agent and the tools.

What the agent (and anything else that drives the tools on a person's behalf: the LangChain
integration, the agent eval) may call, with the result type of each call. Every result exposes
its evidence the same way, ``result.evidence: list[Evidence]`` (:class:`~evorec.tools.evidence.HasEvidence`).

Two implementations: :class:`evorec.tools.toolbox.Toolbox` (the real engines) and
:class:`evorec.evals.toolbox_double.ToolboxDouble` (a small in-memory catalog for unit tests,
and the eval's red-team proxy over a real toolbox). mypy checks both against this protocol.

These are primitives (facts about the user, the catalog and items); the LLM tools in
:mod:`evorec.agent.llm_tools` compose them, so adding a tool adds its module there and nothing here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only: importing the trend results would load statsmodels
    from evorec.tools.constraints import Constraints
    from evorec.tools.forecast.result import InterestForecast
    from evorec.tools.item_neighbours import ItemNeighbours
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

    def search_items(self, text: str, k: int = 10) -> ItemSearch: ...

    def get_item(self, item_id: str) -> ItemHit | None: ...

    def find_item(self, text: str) -> ItemHit | None:
        """The catalog item a person named: an item id, else a title, else the closest catalog text; None if none."""
        ...

    def item_neighbours(self, item_id: str, k: int = 10) -> ItemNeighbours:
        """The ``k`` items most like ``item_id`` (text similarity and co-occurrence in histories), most alike first,
        for anyone (no user, no constraints: a tool filters them); ``NotFoundError`` for an unknown id."""
        ...
