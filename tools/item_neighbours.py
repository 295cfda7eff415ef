"""``ItemNeighbours``: the items most like one catalog item, the result of ``ToolboxProtocol.item_neighbours``.

A primitive tools compose (``similar_items`` filters it by the session's constraints and history): each
neighbour carries the two numbers behind its place — text-embedding cosine and co-occurrence in histories —
and is cited by one ``ev:like:<anchor>:<item>`` record quoting them; the anchor is cited as ``ev:item:<id>``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from evorec.tools.evidence import Evidence, evidence_id
from evorec.tools.store.records import ItemHit
from evorec.tools.wording import GENERIC, CatalogWording


class ItemNeighbour(ItemHit):
    """One item like the anchor; ``score`` orders them (higher is more alike)."""

    similarity: float = Field(description="Cosine of the two items' text embeddings (0 without text).")
    co_occurrences: float = Field(description="How often the two were in the same histories, near each other.")


class ItemNeighbours(BaseModel):
    """The neighbours of ``anchor``, most alike first (only items with a positive score)."""

    anchor: ItemHit
    neighbours: list[ItemNeighbour] = Field(default_factory=list)

    def like_evidence(self, n: ItemNeighbour, wording: CatalogWording = GENERIC) -> Evidence:
        """``ev:like:<anchor>:<item>``: why ``n`` is like the anchor, in words for the person (it is also the
        item's template rationale); the two numbers stay in ``numbers``."""
        a, verb = self.anchor.title, wording.verb
        bits = []
        if n.similarity > 0:
            bits.append(f"{n.title} is close to {a} in what it is about")
        if n.co_occurrences > 0:
            bits.append(f"people who {verb} {a} also {verb} {n.title}")
        text = "; ".join(bits) or f"{n.title} is like {a}"
        return Evidence(id=evidence_id("like", f"{self.anchor.item_id}:{n.item_id}"), kind="like",
                        item_id=n.item_id, text=text[0].upper() + text[1:] + ".",
                        numbers={"similarity": round(n.similarity, 2), "co_occurrences": n.co_occurrences})

    @property
    def evidence(self) -> list[Evidence]:
        return [*self.anchor.evidence, *(self.like_evidence(n) for n in self.neighbours)]
