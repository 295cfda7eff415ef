"""Integer encoding of a dataset for sequence models.

Item index 0 is padding; real items are 1..n_items in catalog order. Every model
(baselines, SASRec+, the forecaster) scores the same index space, so evaluation and
ranking compare like with like.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from evorec.tools.data.schema import Dataset

PAD = 0


@dataclass
class ItemVocab:
    item_ids: list[str]  # position i holds the id of item index i; position 0 is "<pad>"
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.index:
            self.index = {iid: i for i, iid in enumerate(self.item_ids) if i > 0}

    @classmethod
    def from_dataset(cls, ds: Dataset) -> ItemVocab:
        return cls(["<pad>", *ds.items["item_id"].astype(str).tolist()])

    @property
    def n_items(self) -> int:
        return len(self.item_ids) - 1

    def encode(self, ids: list[str]) -> np.ndarray:
        return np.array([self.index[i] for i in ids], dtype=np.int64)

    def decode(self, idx: np.ndarray | list[int]) -> list[str]:
        return [self.item_ids[int(i)] for i in idx]


@dataclass
class History:
    """One user's observed events, oldest first."""

    items: np.ndarray  # int64 item indices
    times: np.ndarray  # int64 unix seconds, same length

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class SequenceData:
    vocab: ItemVocab
    category_names: list[str]
    item_categories: np.ndarray  # float32 [n_items + 1, n_categories] multi-hot; row 0 zeros
    user_ids: list[str]
    histories: list[History]
    dataset_name: str = ""
    fingerprint: str = ""
    item_text_emb: np.ndarray | None = None  # float32 [n_items + 1, d] L2-normalised; row 0 zeros
    item_years: np.ndarray | None = None  # int64 [n_items + 1], -1 when unknown

    @property
    def n_items(self) -> int:
        return self.vocab.n_items

    @property
    def n_categories(self) -> int:
        return len(self.category_names)

    def user_position(self) -> dict[str, int]:
        return {u: i for i, u in enumerate(self.user_ids)}

    @classmethod
    def from_dataset(cls, ds: Dataset, vocab: ItemVocab | None = None) -> SequenceData:
        vocab = vocab or ItemVocab.from_dataset(ds)
        cats = list(ds.categories)
        cpos = {c: j for j, c in enumerate(cats)}
        mh = np.zeros((vocab.n_items + 1, len(cats)), dtype=np.float32)
        for iid, item_cats in zip(ds.items["item_id"].astype(str), ds.items["categories"], strict=True):
            i = vocab.index[iid]
            for c in item_cats:
                mh[i, cpos[c]] = 1.0
        ints = ds.interactions  # already sorted by (ts, row)
        item_idx = ints["item_id"].map(vocab.index).to_numpy(np.int64)
        ts = ints["ts"].to_numpy(np.int64)
        users: list[str] = []
        hists: list[History] = []
        for user, pos in ints.groupby("user_id", sort=True).indices.items():
            pos = np.sort(pos)  # positions in the (ts,row)-sorted table keep event order
            users.append(str(user))
            hists.append(History(items=item_idx[pos], times=ts[pos]))
        years = np.full(vocab.n_items + 1, -1, dtype=np.int64)
        for iid, year in zip(ds.items["item_id"].astype(str), ds.items["year"], strict=True):
            if not pd.isna(year):
                years[vocab.index[iid]] = int(year)
        return cls(vocab, cats, mh, users, hists, ds.name, ds.fingerprint(), item_years=years)

    def with_histories(self, user_ids: list[str], histories: list[History]) -> SequenceData:
        """Same catalog encoding, other histories (how splits build their train views)."""
        return replace(self, user_ids=user_ids, histories=histories)
