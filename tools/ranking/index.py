"""``RankingIndex``: the catalog-side arrays every candidate source and feature reads.

Built once from a dataset's catalog and a set of histories (the training histories when the
fusion weights are fitted, all current histories when serving): item metadata as arrays in
the shared item-index space (``ItemVocab``; index 0 is padding), popularity and its recent
trend, a sequential item-item co-occurrence matrix, and optional item text embeddings.

Offline (fitting the fusion weights, evaluating the fused ranker) each case is scored as of its
own time: ``per_case`` makes the signals carry the case's time (its history's last event) and
``case_index`` hands out a view whose popularity, popularity trend and catalog trends count only
events at or before that time, so no case sees later events. Catalog trends (statsmodels fits)
are computed as of the start of the case's ``CATALOG_STEP_DAYS``-day step (never after the case).
The co-occurrence matrix is still built from all training histories.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
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
SAME_DAY_MAX = 50  # a user's day with more distinct items than this is a bulk import, not one sitting: not counted
TREND_WINDOW_DAYS = 30  # catalog popularity trend: last 30 days of the data vs the 30 before
CATALOG_STEP_DAYS = 30  # as-of catalog trends are refitted once per this many days of case time
_VIEW_CACHE = 64


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
    same_day: sparse.csr_matrix | None = None  # float32 [n+1, n+1]: users who had both i and j on one (UTC) day
    item_emb: np.ndarray | None = None  # float32 [n+1, d] L2-normalised, row 0 zeros
    catalog_score: np.ndarray | None = None  # float64 [n+1]: TRENDS catalog score of rising items, -inf elsewhere
    catalog_evidence: dict[str, Evidence] = field(default_factory=dict)  # ev:trending:<item> by item id
    pop_rank: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # 1-based rank by popularity
    ev_items: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # every event's item, by time
    ev_times: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # ... and its time (sorted)
    per_case: bool = False  # offline: score each case as of its own time (see the module doc)
    _cooc_norm: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _pop_trend: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _views: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _catalog_at: dict = field(default_factory=dict, repr=False)

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
        order = np.argsort(all_times, kind="stable")
        ev_items, ev_times = all_items[order].astype(np.int64), all_times[order].astype(np.int64)
        now = int(ev_times[-1]) if len(ev_times) else 0
        pop, pop_recent, pop_before = popularity_as_of(ev_items, ev_times, n, now)
        return cls(vocab=vocab, category_names=list(category_names), titles=titles, item_categories=item_categories,
                   cat_mh=cat_mh.astype(bool), cat_w=category_weights(cat_mh.astype(np.float32)), years=years,
                   popularity=pop, pop_recent=pop_recent, pop_before=pop_before, now_ts=now,
                   cooc=build_cooc(histories, n), same_day=build_same_day(histories, n), item_emb=item_emb,
                   ev_items=ev_items, ev_times=ev_times)

    def attach_catalog_trends(self, histories: list[History]) -> None:
        """Rising/emerging items from the TRENDS engine's catalog trends over ``histories`` (score + evidence)."""
        from evorec.tools.ranking.trend_labels import catalog_trends_of

        got = catalog_trends_of(self, histories)
        if got is None:
            return
        score, evidence = got
        self.catalog_score, self.catalog_evidence = score, evidence

    def as_of(self, ts: int) -> RankingIndex:
        """A view counting only events at or before ``ts`` (popularity, its trend, catalog trends); the index
        itself when ``ts`` is at or after its last event. Views are cached (a few, least recently used)."""
        ts = int(ts)
        if ts >= self.now_ts:
            return self
        view = self._views.get(ts)
        if view is not None:
            self._views.move_to_end(ts)
            return view
        end = int(np.searchsorted(self.ev_times, ts, side="right"))
        pop, recent, before = popularity_as_of(self.ev_items[:end], self.ev_times[:end], self.n_items, ts)
        score, evidence = (self._catalog_trends_at(ts) if self.catalog_score is not None else (None, {}))
        view = dataclasses.replace(self, popularity=pop, pop_recent=recent, pop_before=before, now_ts=ts,
                                   catalog_score=score, catalog_evidence=evidence, per_case=False,
                                   ev_items=self.ev_items[:end], ev_times=self.ev_times[:end],
                                   _views=OrderedDict(), _catalog_at={})
        self._views[ts] = view
        while len(self._views) > _VIEW_CACHE:
            self._views.popitem(last=False)
        return view

    def _catalog_trends_at(self, ts: int) -> tuple[np.ndarray | None, dict[str, Evidence]]:
        step = CATALOG_STEP_DAYS * DAY
        key = (ts // step) * step  # the start of the case's step: never after the case
        if key not in self._catalog_at:
            from evorec.tools.ranking.trend_labels import catalog_trends_from_events

            end = int(np.searchsorted(self.ev_times, key, side="right"))
            got = catalog_trends_from_events(self, self.ev_items[:end], self.ev_times[:end])
            self._catalog_at[key] = got if got is not None else (None, {})
        return self._catalog_at[key]

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

    def same_day_scores(self, day_items: np.ndarray) -> np.ndarray:
        """Per item: how many users had it on one day together with each of ``day_items``, summed."""
        if len(day_items) == 0 or self.same_day is None or self.same_day.nnz == 0:
            return np.zeros(self.n_items + 1)
        return np.asarray(self.same_day[day_items].sum(axis=0), dtype=np.float64).ravel()


def case_index(index: RankingIndex, as_of: int | None) -> RankingIndex:
    """The index a case is scored with: as of the case's time offline (``per_case``), the index itself otherwise."""
    return index.as_of(as_of) if index.per_case and as_of is not None else index


def popularity_as_of(items: np.ndarray, times: np.ndarray, n_items: int, now: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(event counts, counts in the last TREND_WINDOW_DAYS up to ``now``, counts in the window before) per item."""
    w = TREND_WINDOW_DAYS * DAY
    pop = np.bincount(items, minlength=n_items + 1).astype(np.float64)[: n_items + 1]
    pop[0] = 0.0
    recent = np.bincount(items[times > now - w], minlength=n_items + 1).astype(np.float64)[: n_items + 1]
    before = items[(times > now - 2 * w) & (times <= now - w)]
    return pop, recent, np.bincount(before, minlength=n_items + 1).astype(np.float64)[: n_items + 1]


def build_cooc(histories: list[History], n_items: int, window: int = COOC_WINDOW) -> sparse.csr_matrix:
    """Symmetric counts: C[i, j] = how often i and j came within ``window`` events of each other (EVALS' ItemKNN
    co-occurrence, unnormalised, so evidence can quote the count)."""
    return cooccurrence(histories, n_items, window).astype(np.float32).tocsr()


def last_day_items(history: History) -> np.ndarray:
    """The distinct items of the history's last active (UTC) day, at most SAME_DAY_MAX of the latest."""
    if len(history) == 0:
        return np.zeros(0, np.int64)
    days = np.asarray(history.times) // DAY
    items = np.asarray(history.items)[days == days[-1]][-SAME_DAY_MAX:]
    return np.unique(items).astype(np.int64)


def build_same_day(histories: list[History], n_items: int) -> sparse.csr_matrix:
    """Symmetric counts: S[i, j] = how many (user, day) pairs hold both i and j. Amazon-style data (reviews
    stamped by day) puts things bought together on one day; a rating session does the same. Days with more than
    SAME_DAY_MAX distinct items (bulk imports) are skipped: they say nothing about what goes together."""
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for h in histories:
        if len(h) < 2:
            continue
        days = np.asarray(h.times) // DAY
        items = np.asarray(h.items)
        order = np.argsort(days, kind="stable")
        days, items = days[order], items[order]
        cuts = np.flatnonzero(np.diff(days)) + 1
        for group in np.split(items, cuts):
            u = np.unique(group)
            if 2 <= len(u) <= SAME_DAY_MAX:
                a, b = np.meshgrid(u, u, indexing="ij")
                off = a != b
                rows.append(a[off])
                cols.append(b[off])
    if not rows:
        return sparse.csr_matrix((n_items + 1, n_items + 1), dtype=np.float32)
    r, c = np.concatenate(rows), np.concatenate(cols)
    m = sparse.csr_matrix((np.ones(len(r), np.float32), (r, c)), shape=(n_items + 1, n_items + 1))
    m.sum_duplicates()
    return m
