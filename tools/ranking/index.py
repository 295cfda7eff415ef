"""``RankingIndex``: the catalog-side arrays every candidate source and feature reads.

Built once from a dataset's catalog and a set of histories (the training histories when the
fusion weights are fitted, all current histories when serving): item metadata as arrays in
the shared item-index space (``ItemVocab``; index 0 is padding), popularity and its recent
trend, a sequential item-item co-occurrence matrix, and optional item text embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from evorec.tools.data.schema import Dataset
from evorec.tools.data.sequences import History, ItemVocab
from evorec.tools.evidence import Evidence
from evorec.tools.forecast.mix import category_weights
from evorec.tools.models.itemknn import cooccurrence

DAY = 86_400
COOC_WINDOW = 5  # events apart that count as "watched together"
TREND_WINDOW_DAYS = 30  # catalog popularity trend: last 30 days of the data vs the 30 before


@dataclass
class RankingIndex:
    vocab: ItemVocab
    category_names: list[str]
    titles: list[str]  # per item index; "" at 0
    item_categories: list[list[str]]  # per item index
    cat_mh: np.ndarray  # bool [n+1, C]
    cat_w: np.ndarray  # float32 [n+1, C], rows sum to 1 (or 0)
    years: np.ndarray  # int64 [n+1], -1 unknown
    popularity: np.ndarray  # float64 [n+1] event counts
    pop_recent: np.ndarray  # float64 [n+1] events in the last TREND_WINDOW_DAYS
    pop_before: np.ndarray  # float64 [n+1] events in the TREND_WINDOW_DAYS before that
    now_ts: int  # last event time of the histories the index was built from
    cooc: sparse.csr_matrix  # float32 [n+1, n+1]: times i and j were within COOC_WINDOW events of each other
    item_emb: np.ndarray | None = None  # float32 [n+1, d] L2-normalised, row 0 zeros
    catalog_score: np.ndarray | None = None  # float64 [n+1]: TRENDS catalog score of rising items, -inf elsewhere
    catalog_evidence: dict[str, Evidence] = field(default_factory=dict)  # ev:trending:<item> by item id
    pop_rank: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # 1-based rank by popularity
    _cooc_norm: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _pop_trend: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        order = np.argsort(-self.popularity[1:], kind="stable") + 1
        rank = np.zeros(len(self.popularity), np.int64)
        rank[order] = np.arange(1, len(order) + 1)
        self.pop_rank = rank
        self._cooc_norm = np.sqrt(np.maximum(self.popularity, 1.0))
        r, b = self.pop_recent, self.pop_before
        rs, bs = max(r.sum(), 1.0), max(b.sum(), 1.0)
        self._pop_trend = np.log((r + 1.0) / rs) - np.log((b + 1.0) / bs)

    # ---- construction --------------------------------------------------------------------------
    @classmethod
    def build(cls, ds: Dataset, histories: list[History], vocab: ItemVocab | None = None,
              item_emb: np.ndarray | None = None) -> RankingIndex:
        vocab = vocab or ItemVocab.from_dataset(ds)
        n = vocab.n_items
        cats = list(ds.categories)
        cpos = {c: j for j, c in enumerate(cats)}
        mh = np.zeros((n + 1, len(cats)), dtype=bool)
        titles = [""] * (n + 1)
        item_cats: list[list[str]] = [[] for _ in range(n + 1)]
        years = np.full(n + 1, -1, dtype=np.int64)
        for iid, title, ic, year in zip(ds.items["item_id"].astype(str), ds.items["title"], ds.items["categories"],
                                        ds.items["year"], strict=True):
            i = vocab.index.get(iid)
            if i is None:
                continue
            titles[i] = str(title)
            item_cats[i] = list(ic)
            for c in ic:
                if c in cpos:
                    mh[i, cpos[c]] = True
            if not pd.isna(year):
                years[i] = int(year)
        return cls.from_arrays(vocab, cats, titles, item_cats, mh, years, histories, item_emb)

    @classmethod
    def from_arrays(cls, vocab: ItemVocab, category_names: list[str], titles: list[str],
                    item_categories: list[list[str]], cat_mh: np.ndarray, years: np.ndarray,
                    histories: list[History], item_emb: np.ndarray | None = None) -> RankingIndex:
        n = vocab.n_items
        all_items = np.concatenate([h.items for h in histories]) if histories else np.zeros(0, np.int64)
        all_times = np.concatenate([h.times for h in histories]) if histories else np.zeros(0, np.int64)
        pop = np.bincount(all_items, minlength=n + 1).astype(np.float64)[: n + 1]
        pop[0] = 0.0
        now = int(all_times.max()) if len(all_times) else 0
        w = TREND_WINDOW_DAYS * DAY
        recent = all_items[all_times > now - w]
        before = all_items[(all_times > now - 2 * w) & (all_times <= now - w)]
        pop_recent = np.bincount(recent, minlength=n + 1).astype(np.float64)[: n + 1]
        pop_before = np.bincount(before, minlength=n + 1).astype(np.float64)[: n + 1]
        return cls(vocab=vocab, category_names=list(category_names), titles=titles, item_categories=item_categories,
                   cat_mh=cat_mh.astype(bool), cat_w=category_weights(cat_mh.astype(np.float32)), years=years,
                   popularity=pop, pop_recent=pop_recent, pop_before=pop_before, now_ts=now,
                   cooc=build_cooc(histories, n), item_emb=item_emb)

    def attach_catalog_trends(self, histories: list[History]) -> None:
        """Rising/emerging items from the TRENDS engine's catalog trends over ``histories`` (score + evidence)."""
        from evorec.tools.ranking.trend_labels import catalog_trends_of

        got = catalog_trends_of(self, histories)
        if got is None:
            return
        score, evidence = got
        self.catalog_score, self.catalog_evidence = score, evidence

    # ---- lookups --------------------------------------------------------------------------------
    @property
    def n_items(self) -> int:
        return self.vocab.n_items

    def pop_trend(self) -> np.ndarray:
        """Log-ratio of an item's share of recent events to its share of the window before (smoothed)."""
        return self._pop_trend

    def cooc_scores(self, anchors: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cosine-normalised weighted co-occurrence score per item, raw weighted count per item)."""
        if len(anchors) == 0 or self.cooc.nnz == 0:
            z = np.zeros(self.n_items + 1)
            return z, z.copy()
        rows = self.cooc[anchors]  # [m, n+1]
        raw = np.asarray(rows.T @ weights).ravel()
        norm_rows = rows.multiply(1.0 / self._cooc_norm[anchors][:, None]).tocsr()
        score = np.asarray(norm_rows.T @ weights).ravel() / self._cooc_norm
        return score, raw


def build_cooc(histories: list[History], n_items: int, window: int = COOC_WINDOW) -> sparse.csr_matrix:
    """Symmetric counts: C[i, j] = how often i and j came within ``window`` events of each other (EVALS' ItemKNN
    co-occurrence, unnormalised, so evidence can quote the count)."""
    return cooccurrence(histories, n_items, window).astype(np.float32).tocsr()
