"""One interface for every candidate source, and the pool that remembers who proposed what.

A source maps a user's signals to a full-catalog score vector (``-inf``/NaN = not proposed);
``propose`` keeps its top ``n`` items among those the hard constraints allow.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from evorec.tools.ranking.index import RankingIndex
from evorec.tools.ranking.signals import UserSignals


class CandidateSource(ABC):
    name: ClassVar[str]

    def __init__(self, n: int = 50) -> None:
        self.n = n

    @abstractmethod
    def scores(self, index: RankingIndex, sig: UserSignals) -> np.ndarray | None:
        """Full-catalog scores [n_items + 1]; non-finite = this source does not propose the item."""

    def propose(self, index: RankingIndex, sig: UserSignals, allowed: np.ndarray) -> np.ndarray:
        """Top ``n`` allowed item indices, best first."""
        s = self.scores(index, sig)
        if s is None or self.n <= 0:
            return np.zeros(0, np.int64)
        s = np.where(allowed & np.isfinite(s), s, -np.inf)
        s[0] = -np.inf
        k = min(self.n, int(np.isfinite(s).sum()))
        if k == 0:
            return np.zeros(0, np.int64)
        top = np.argpartition(-s, k - 1)[:k]
        return top[np.argsort(-s[top], kind="stable")].astype(np.int64)


@dataclass
class CandidatePool:
    items: np.ndarray  # int64 item indices, in first-proposed order
    source_names: list[str]
    membership: np.ndarray  # bool [len(items), len(source_names)]

    def sources_of(self, row: int) -> list[str]:
        return [s for s, m in zip(self.source_names, self.membership[row], strict=True) if m]

    def __len__(self) -> int:
        return len(self.items)


def gather(sources: list[CandidateSource], index: RankingIndex, sig: UserSignals, allowed: np.ndarray) -> CandidatePool:
    """Union of every source's proposals; each candidate remembers which sources proposed it."""
    names = [s.name for s in sources]
    proposals = [s.propose(index, sig, allowed) for s in sources]
    order: dict[int, int] = {}
    for prop in proposals:
        for i in prop.tolist():
            order.setdefault(i, len(order))
    items = np.fromiter(order.keys(), dtype=np.int64, count=len(order))
    member = np.zeros((len(items), len(sources)), dtype=bool)
    for j, prop in enumerate(proposals):
        if len(prop):
            member[[order[i] for i in prop.tolist()], j] = True
    return CandidatePool(items=items, source_names=names, membership=member)
