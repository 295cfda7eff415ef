"""Evidence records: the checkable facts behind every recommendation and every tool result.

Ids are stable and readable, e.g. ``ev:trend:Sci-Fi``, ``ev:forecast:mix``,
``ev:similar:<item>``, ``ev:cooc:<item>``, ``ev:same_day:<item>``, ``ev:trending:<item>``, ``ev:item:<item>``.
Rationales cite ids; the grounding validator checks cited ids exist and quoted numbers appear in them.

Every result a tool returns (``UserHistory``, ``InterestForecast``, ``UserTrends``, ``RankedList``,
``ItemHit``, ``ItemSearch``) exposes its evidence the same way: ``result.evidence``, a
``list[Evidence]`` (a field or a computed property) — the :class:`HasEvidence` protocol.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, Protocol

from pydantic import BaseModel, Field

EvidenceKind = Literal["history", "similar", "trend", "forecast", "cooc", "same_day", "trending", "popular",
                       "semantic", "cold_start", "constraint", "item", "like"]


class Evidence(BaseModel):
    id: str = Field(pattern=r"^ev:[a-z_]+(:.+)?$")
    kind: EvidenceKind
    text: str = Field(description="One factual sentence built from the numbers and dates below.")
    numbers: dict[str, float] = Field(default_factory=dict)
    dates: dict[str, str] = Field(default_factory=dict, description="ISO-8601 dates.")
    item_id: str | None = None
    category: str | None = None


def evidence_id(kind: str, key: str | None = None) -> str:
    return f"ev:{kind}" if key is None else f"ev:{kind}:{key}"


class HasEvidence(Protocol):
    """A tool result: its checkable facts, in the order the result presents them."""

    @property
    def evidence(self) -> list[Evidence]: ...


def by_id(evidence: Iterable[Evidence]) -> dict[str, Evidence]:
    """Evidence keyed by id (the first record wins when two share an id)."""
    out: dict[str, Evidence] = {}
    for e in evidence:
        out.setdefault(e.id, e)
    return out
