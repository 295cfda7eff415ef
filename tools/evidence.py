"""Evidence records: the checkable facts behind every recommendation.

Ids are stable and readable, e.g. ``ev:trend:Sci-Fi``, ``ev:forecast:mix``,
``ev:similar:<item>``, ``ev:cooc:<item>``, ``ev:trending:<item>``. Rationales cite ids;
the grounding validator checks cited ids exist and quoted numbers appear in them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

EvidenceKind = Literal["history", "similar", "trend", "forecast", "cooc", "trending", "popular", "semantic",
                       "cold_start", "constraint"]


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
