"""``ItemNeighbours``: the items most like one catalog item, the result of ``ToolboxProtocol.item_neighbours``.

A primitive tools compose (``similar_items`` filters it by the session's constraints and history): each
neighbour carries the two numbers behind its place — text-embedding cosine and co-occurrence in histories —
and is cited by one ``ev:like:<anchor>:<item>`` record quoting them; the anchor is cited as ``ev:item:<id>``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from evorec.tools.evidence import Evidence, evidence_id
from evorec.tools.store.records import ItemHit
from evorec.tools.wording import GENERIC, CatalogWording, Lang


class ItemNeighbour(ItemHit):
    """One item like the anchor; ``score`` orders them (higher is more alike)."""

    similarity: float = Field(description="Cosine of the two items' text embeddings (0 without text).")
    co_occurrences: float = Field(description="How often the two were in the same histories, near each other.")


class ItemNeighbours(BaseModel):
    """The neighbours of ``anchor``, most alike first (only items with a positive score)."""

    anchor: ItemHit
    neighbours: list[ItemNeighbour] = Field(default_factory=list)

    def like_texts(self, n: ItemNeighbour, wording: CatalogWording = GENERIC) -> dict[Lang, str]:
        """Why ``n`` is like the anchor, in words for the person, by language (the item's template rationale;
        English is also its evidence text)."""
        a, verb, zh_verb = self.anchor.title, wording.verb, wording.verb_zh
        en, zh = [], []
        if n.similarity > 0:
            en.append(f"{n.title} is close to {a} in what it is about")
            zh.append(f"《{n.title}》和《{a}》的内容很接近")
        if n.co_occurrences > 0:
            en.append(f"people who {verb} {a} also {verb} {n.title}")
            zh.append(f"{zh_verb}过《{a}》的人也{zh_verb}了《{n.title}》")
        text = "; ".join(en) or f"{n.title} is like {a}"
        return {"en": text[0].upper() + text[1:] + ".", "zh": "；".join(zh or [f"《{n.title}》和《{a}》很像"]) + "。"}

    def like_evidence(self, n: ItemNeighbour, wording: CatalogWording = GENERIC) -> Evidence:
        """``ev:like:<anchor>:<item>``: why ``n`` is like the anchor (:meth:`like_texts`, English); the two
        numbers stay in ``numbers``."""
        return Evidence(id=evidence_id("like", f"{self.anchor.item_id}:{n.item_id}"), kind="like",
                        item_id=n.item_id, text=self.like_texts(n, wording)["en"],
                        numbers={"similarity": round(n.similarity, 2), "co_occurrences": n.co_occurrences})

    @property
    def evidence(self) -> list[Evidence]:
        return [*self.anchor.evidence, *(self.like_evidence(n) for n in self.neighbours)]
