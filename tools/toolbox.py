"""``Toolbox``: THE facade the agent, the API and the CLI call — one object per dataset.

It owns the engines (history store, forecaster, trend models, ranking index, fusion ranker)
and per-user caches of what they computed (history, forecast, trends, ranking signals).
``add_events`` writes to the store and drops the touched users' caches, so the next answer
reflects new events immediately, without retraining. Unknown users get cold-start answers,
never exceptions. The models and the ranking index are built on the data the forecaster was
trained on: the ingested dataset plus the events the store held at training time
(:mod:`evorec.tools.forecast.training_data`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from cachetools import LRUCache

from evorec.errors import ArtifactError, EvorecError, InvalidRequestError, NotFoundError
from evorec.settings import Settings, get_settings
from evorec.tools.constraints import Constraints
from evorec.tools.data.schema import Dataset
from evorec.tools.data.sequences import History, ItemVocab, SequenceData
from evorec.tools.evidence import Evidence
from evorec.tools.item_neighbours import ItemNeighbour, ItemNeighbours
from evorec.tools.ranking.assemble import assemble
from evorec.tools.ranking.explain import ExplainContext
from evorec.tools.ranking.index import RankingIndex
from evorec.tools.ranking.ranker import Ranker
from evorec.tools.ranking.signals import RISING_LABELS, UserSignals, compute_signals
from evorec.tools.ranking.trend_labels import labels_from_trends, trend_service
from evorec.tools.recommendation import RankedList
from evorec.tools.store.records import DeleteReport, EventIn, IngestReport, ItemHit, ItemSearch, UserHistory
from evorec.tools.wording import wording_for

if TYPE_CHECKING:  # the engines load torch / chromadb / statsmodels: imported where they are opened
    from evorec.tools.forecast.result import InterestForecast
    from evorec.tools.forecast.service import ForecastService
    from evorec.tools.protocol import ToolboxProtocol
    from evorec.tools.store.history import HistoryStore
    from evorec.tools.trends.results import UserTrends

log = logging.getLogger(__name__)
USER_CACHE = 2048


@dataclass
class _UserCache:
    history: UserHistory | None = None  # all events
    encoded: tuple[History, np.ndarray] | None = None
    forecasts: dict[int, InterestForecast] = field(default_factory=dict)  # by horizon
    fc_scores: np.ndarray | None = None
    trends: UserTrends | None = None
    signals: UserSignals | None = None


class Toolbox:
    """The real tools over one dataset's engines; implements :class:`~evorec.tools.protocol.ToolboxProtocol`."""

    def __init__(self, settings: Settings, dataset: Dataset, store: HistoryStore, forecast: ForecastService | None,
                 index: RankingIndex,
                 ranker: Ranker, fusion_info: dict[str, Any]) -> None:
        self.settings = settings
        self.data = dataset
        self.store = store
        self.forecaster = forecast
        self.index = index
        self.ranker = ranker
        self._fusion_info = fusion_info
        self._lock = threading.RLock()
        self.trend_service = trend_service(list(index.category_names))
        self._users: LRUCache[str, _UserCache] = LRUCache(maxsize=USER_CACHE)  # guarded by self._lock
        gen = getattr(store, "generation", None)
        self._generation: int | None = gen() if callable(gen) else None  # store generation the caches match

    # ------------------------------------------------------------------ construction
    @classmethod
    def open(cls, settings: Settings | None = None, dataset: str | None = None, *, path: Path | None = None,
             data: Dataset | None = None, warm: bool = False) -> Toolbox:
        """Open the engines of ``dataset`` (default ``settings.dataset``). Missing forecaster/fusion artifacts
        degrade ranking (reported by :meth:`health`); a missing store is an error.

        ``data``/``path``: the dataset as ingested (default: the directory the store's manifest names).
        ``warm``: load every stored event into the process cache now (seconds on ML-100K) so the first history
        reads are sub-millisecond — for long-lived processes (the API); one-shot CLI commands leave it off.
        """
        from evorec.tools.forecast.training_data import ingested_base, served_dataset
        from evorec.tools.store.history import HistoryStore

        settings = settings or get_settings()
        name = dataset or (data.name if data is not None else settings.dataset)
        store = HistoryStore.open(settings, name)
        # serve exactly what was ingested: by default the directory the store's manifest names
        base = data if data is not None else ingested_base(settings, store, name, path)
        stored = store.manifest.get("fingerprint")
        if not stored:
            raise NotFoundError(f"dataset {base.name!r} is not in the history store at {store.location}; run "
                                f"`evorec ingest --dataset {base.name}`")
        if stored != base.fingerprint():
            raise ArtifactError(f"the history store holds other {base.name!r} data (fingerprint {stored}, data is "
                                f"{base.fingerprint()}); run `evorec ingest --dataset {base.name}`")
        try:
            ds = served_dataset(settings, base)
        except ArtifactError as e:
            log.warning("serving the dataset files alone: %s", e)
            ds = base
        forecast: ForecastService | None = None
        try:
            from evorec.tools.forecast.service import ForecastService

            forecast = ForecastService.load(settings, ds)
        except ArtifactError as e:
            log.warning("no forecaster for %s: %s", ds.name, e)
        vocab = forecast.art.vocab if forecast is not None else ItemVocab.from_dataset(ds)
        seq = SequenceData.from_dataset(ds, vocab=vocab)
        emb = _item_embeddings(settings, ds, vocab, store)
        index = RankingIndex.build(ds, seq.histories, vocab, emb)
        index.attach_catalog_trends(seq.histories)
        info: dict[str, Any] = {"fitted": False}
        model = cold = None
        from evorec.tools.ranking.training import load_fusion

        try:
            loaded = load_fusion(settings, ds.name, ds.fingerprint())
        except ArtifactError as e:
            log.warning("fusion weights unusable: %s", e)
            loaded, info["error"] = None, str(e)
        if loaded is not None:
            model, cold, manifest = loaded
            info = {"fitted": True, "kind": model.kind, "created_at": manifest.created_at,
                    "holdout_ndcg10": manifest.fit.holdout_ndcg10.get(manifest.fit.chosen)}
        if warm:
            t0 = time.perf_counter()
            n = store.warm()
            log.info("history store warmed: %d events in %.1f s", n, time.perf_counter() - t0)
        return cls(settings, ds, store, forecast, index, Ranker(index, model, cold_model=cold), info)

    def close(self) -> None:
        with self._lock:
            self._users.clear()

    # ------------------------------------------------------------------ facts
    @property
    def dataset_name(self) -> str:
        return self.data.name

    @property
    def categories(self) -> list[str]:
        return list(self.index.category_names)

    @property
    def fusion_info(self) -> dict[str, Any]:
        """The fused ranker as loaded: ``fitted``; its ``kind``, ``created_at``, ``holdout_ndcg10`` (or ``error``)."""
        return dict(self._fusion_info)

    def known_user(self, user_id: str) -> bool:
        return bool(self._history(str(user_id)).known)

    def health(self) -> dict[str, Any]:
        try:
            stats = self.store.stats().model_dump()
            store_ok = True
        except EvorecError as e:
            stats, store_ok = {"error": str(e)}, False
        return {"dataset": self.dataset_name, "store": {"ok": store_ok, **stats},
                "forecaster": self._forecaster_health(),
                "fusion": self.fusion_info, "items": self.index.n_items, "cached_users": len(self._users)}

    def _forecaster_health(self) -> dict[str, Any]:
        if self.forecaster is None:
            return {"loaded": False}
        m = self.forecaster.art.manifest
        return {"loaded": True, "created_at": m.created_at, "trained_events": m.n_events,
                "added_events": m.added_events, "removed_events": m.removed_events}

    # ------------------------------------------------------------------ per-user caches
    def _sync(self) -> None:
        """Drop the caches of users written since they were filled, by this or any other process (the store
        generation; :mod:`evorec.tools.store.state`)."""
        if self._generation is None:
            return
        gen = self.store.generation()
        if gen == self._generation:
            return
        from evorec.tools.store.ids import user_key

        with self._lock:
            keys = self.store.changes(self._generation, gen)
            cached = set(self._users) | set(self.trend_service.cached_users())
            stale = cached if keys is None else {u for u in cached if user_key(self.dataset_name, u) in keys}
            for u in stale:
                self._users.pop(u, None)
                self.trend_service.invalidate(u)
            self._generation = gen

    def _cache(self, user_id: str) -> _UserCache:
        self._sync()
        with self._lock:
            c = self._users.get(user_id)  # a hit becomes the most recently used
            if c is None:
                c = self._users[user_id] = _UserCache()  # evicts the least recently used beyond USER_CACHE
            return c

    def invalidate(self, user_ids: list[str] | set[str] | None = None) -> None:
        with self._lock:
            if user_ids is None:
                self._users.clear()
            for u in user_ids or []:
                self._users.pop(str(u), None)

    def _history(self, user_id: str) -> UserHistory:
        c = self._cache(user_id)
        if c.history is None:
            c.history = self.store.user_history(user_id)
        return c.history

    def _encoded(self, user_id: str) -> tuple[History, np.ndarray]:
        c = self._cache(user_id)
        if c.encoded is None:
            idx = self.index.vocab.index
            evs = [e for e in self._history(user_id).events if e.item_id in idx]
            h = History(np.asarray([idx[e.item_id] for e in evs], np.int64), np.asarray([e.ts for e in evs], np.int64))
            r = np.asarray([np.nan if e.rating is None else e.rating for e in evs], np.float64)
            c.encoded = (h, r)
        return c.encoded

    # ------------------------------------------------------------------ tools
    def get_user_history(self, user_id: str, since: int | str | None = None, until: int | str | None = None,
                         limit: int | None = 50, query: str | None = None) -> UserHistory:
        user_id = str(user_id)
        if query:
            return self.store.search_user_history(user_id, query, k=limit or 10, since=since, until=until)
        if since is None and until is None:
            full = self._history(user_id)
            if limit is None or len(full.events) <= limit:
                return full
            return full.model_copy(update={"events": full.events[-limit:] if limit else []})
        return self.store.user_history(user_id, since=since, until=until, limit=limit)

    def forecast_interests(self, user_id: str, horizon: int = 10) -> InterestForecast:
        if self.forecaster is None:
            raise ArtifactError(f"no forecaster trained for dataset {self.dataset_name!r}; run `evorec train "
                                f"--dataset {self.dataset_name}`")
        user_id = str(user_id)
        c = self._cache(user_id)
        if horizon not in c.forecasts:
            h, _ = self._encoded(user_id)
            c.forecasts[horizon] = self.forecaster.forecast(user_id, h if len(h) else None, horizon=horizon)
        return c.forecasts[horizon]

    def detect_trends(self, user_id: str) -> UserTrends:
        user_id = str(user_id)
        c = self._cache(user_id)
        if c.trends is None:
            c.trends = self.trend_service.user_trends(user_id, list(self._history(user_id).events))
        return c.trends

    def _fc_scores(self, user_id: str) -> np.ndarray | None:
        if self.forecaster is None:
            return None
        c = self._cache(user_id)
        if c.fc_scores is None:
            h, _ = self._encoded(user_id)
            if not len(h):
                return None
            c.fc_scores = np.asarray(self.forecaster.score([h])[0], dtype=np.float64)
        return c.fc_scores

    def _forecast_and_scores(self, user_id: str) -> tuple[InterestForecast, np.ndarray | None]:
        """The forecast at the model's horizon and the raw next-item scores, from ONE forward pass when neither is
        cached."""
        svc = self.forecaster
        assert svc is not None, "callers check for a forecaster first"
        c = self._cache(user_id)
        h, _ = self._encoded(user_id)
        if len(h) and c.fc_scores is None and svc.horizon not in c.forecasts:
            c.forecasts[svc.horizon], c.fc_scores = svc.forecast_with_scores(user_id, h)
        return self.forecast_interests(user_id, svc.horizon), self._fc_scores(user_id)

    def _signals(self, user_id: str, timings: dict[str, float]) -> tuple[UserSignals, ExplainContext]:
        c = self._cache(user_id)
        t = time.perf_counter()
        h, ratings = self._encoded(user_id)
        timings["history"] = _ms(t)
        fc = None
        mix = None
        if self.forecaster is not None:
            t = time.perf_counter()
            fc, scores = self._forecast_and_scores(user_id)
            if not fc.cold_start:
                mix = np.asarray([fc.forecast_mix.get(cat, 0.0) for cat in self.categories], np.float64)
            timings["forecast"] = _ms(t)
        else:
            scores = None
        t = time.perf_counter()
        trends = self.detect_trends(user_id) if len(h) else None
        labels = labels_from_trends(trends)
        timings["trends"] = _ms(t)
        if c.signals is None:
            t = time.perf_counter()
            c.signals = compute_signals(self.index, user_id, h, ratings, fc_scores=scores, forecast_mix=mix,
                                        trend_labels=labels)
            timings["signals"] = _ms(t)
        trend_ev: dict[str, Evidence] = {}
        if trends is not None and trends.ok:
            for ct in trends.categories:
                if ct.label in RISING_LABELS:
                    trend_ev[ct.category] = ct.as_evidence()
        ctx = ExplainContext(user_id=user_id, forecast_evidence=fc.evidence_by_id() if fc is not None else {},
                             trend_evidence=trend_ev, trend_labels=labels,
                             horizon=self.forecaster.horizon if self.forecaster is not None else 10,
                             wording=wording_for(self.dataset_name, self.settings))
        return c.signals, ctx

    def rank_candidates(self, user_id: str, constraints: Constraints | None = None) -> RankedList:
        """Candidates → fused scores → hard constraints (exact) → evidence and template rationales."""
        if constraints is not None and not isinstance(constraints, Constraints):
            raise InvalidRequestError("constraints must be a Constraints object")
        constraints = constraints or Constraints()
        user_id = str(user_id)
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        sig, ctx = self._signals(user_id, timings)
        t = time.perf_counter()
        out = self.ranker.rank(sig, constraints)
        timings["rank"] = _ms(t)
        t = time.perf_counter()
        ranked = assemble(self.index, sig, out, ctx)
        timings["explain"] = _ms(t)
        timings["total"] = _ms(t0)
        ranked.timings_ms = timings
        return ranked

    def find_item(self, text: str) -> ItemHit | None:
        """An item id, else an exact catalog title (year and a trailing article ignored: "Godfather, The (1972)" =
        "the godfather"), else the closest catalog text; None when nothing in the catalog matches."""
        text = str(text).strip()
        if not text:
            raise InvalidRequestError("item must not be empty")
        if text in self.index.vocab.index:
            return self.get_item(text)
        want = _title_key(text)
        for i, title in enumerate(self.index.titles):
            if i and _title_key(title) == want:
                return self.get_item(self.index.vocab.item_ids[i])
        hits = [h for h in self.search_items(text, k=5).hits if h.item_id in self.index.vocab.index]
        return hits[0] if hits else None

    def item_neighbours(self, item_id: str, k: int = 10) -> ItemNeighbours:
        """The ``k`` items most like ``item_id``: text-embedding cosine plus cosine-normalised co-occurrence (the
        index's ``item_emb`` and ``cooc``), items with a positive score only, most alike first."""
        item_id = str(item_id)
        a = self.index.vocab.index.get(item_id)
        anchor = self.get_item(item_id) if a is not None else None
        if a is None or anchor is None:
            raise NotFoundError(f"no catalog item {item_id!r}")
        sim = _cosine_row(self.index.item_emb, a, self.index.n_items + 1)
        cooc = np.asarray(self.index.cooc[a].toarray()).ravel() if self.index.cooc.nnz else np.zeros_like(sim)
        norm = np.sqrt(np.maximum(self.index.popularity, 1.0))
        score = sim + cooc / (norm[a] * norm)  # cosine of texts + cosine-normalised co-occurrence
        score[0] = score[a] = -np.inf
        order = np.argsort(-score, kind="stable")
        neighbours = []
        for i in order[:max(int(k), 0)]:
            if not np.isfinite(score[i]) or score[i] <= 0:
                break
            year = int(self.index.years[i])
            neighbours.append(ItemNeighbour.model_construct(  # built from the index's own typed arrays
                item_id=self.index.vocab.item_ids[i], title=self.index.titles[i],
                categories=list(self.index.item_categories[i]), year=year if year >= 0 else None,
                score=float(score[i]), similarity=float(sim[i]), co_occurrences=float(cooc[i])))
        return ItemNeighbours(anchor=anchor, neighbours=neighbours)

    def search_items(self, text: str, k: int = 10) -> ItemSearch:
        return ItemSearch(query=text, hits=self.store.search_items(text, k=k))

    def get_item(self, item_id: str) -> ItemHit | None:
        return self.store.get_item(str(item_id))

    def active_users(self, limit: int = 20) -> list[str]:
        """The ``limit`` most active users of the served dataset, most events first; forgotten users (tombstones,
        written by any process) left out. Users known only from events added since are not listed."""
        counts = self.data.interactions["user_id"].value_counts()
        top = [str(u) for u in counts.index[:limit + 64]]
        gone = self.store.forgotten(top)
        if len(top) - len(gone) < min(limit, len(counts)):  # unlikely: many of the most active users forgotten
            top = [str(u) for u in counts.index]
            gone = self.store.forgotten(top)
        return [u for u in top if u not in gone][:limit]

    def write_training_delta(self, path: Path) -> int:
        """Take the store's difference from the dataset files now and write it to ``path``, for a training run in
        another process (``PrepareOptions(delta_file=path)``); returns how many added events it holds."""
        from evorec.tools.training import write_store_delta

        return write_store_delta(self.settings, self.dataset_name, path, self.store)

    def add_events(self, events: list[EventIn | dict[str, Any]]) -> IngestReport:
        """Write new events to the store; the touched users' next answers reflect them (no retraining)."""
        evs = [e if isinstance(e, EventIn) else EventIn.model_validate(e) for e in events]
        report = self.store.add_events(evs)
        self.invalidate({e.user_id for e in evs})
        return report

    def delete_user(self, user_id: str) -> DeleteReport:
        """Forget the user (:func:`evorec.tools.store.forget.forget_user`) and drop this process's caches of them;
        other processes drop theirs at their next read (store generation)."""
        from evorec.tools.store.forget import forget_user

        user_id = str(user_id)
        report = forget_user(self.settings, self.store, self.data, user_id)
        with self._lock:
            cached = self._users.pop(user_id, None) is not None
        report.removed["cache_entries"] = int(cached) + self.trend_service.invalidate(user_id)
        return report



if TYPE_CHECKING:  # mypy: the real tools implement the protocol the agent is written against
    def _implements(toolbox: Toolbox) -> ToolboxProtocol:
        return toolbox

def _ms(t0: float) -> float:
    return round(1000 * (time.perf_counter() - t0), 3)


_TITLE_YEAR = re.compile(r"\s*\(\d{4}\)\s*$")
_TRAILING_ARTICLE = re.compile(r"^(.*), (the|a|an)$")


def _title_key(title: str) -> str:
    """"Godfather, The (1972)" and "the godfather" compare equal."""
    t = _TITLE_YEAR.sub("", title).strip().lower()
    m = _TRAILING_ARTICLE.match(t)
    return f"{m.group(2)} {m.group(1)}" if m else t


def _cosine_row(emb: np.ndarray | None, a: int, n: int) -> np.ndarray:
    """Cosine of item ``a``'s text embedding with every item's (rows are L2-normalised); zeros without embeddings."""
    if emb is None:
        return np.zeros(n)
    return (emb @ emb[a]).astype(np.float64)


def _item_embeddings(settings: Settings, ds: Dataset, vocab: ItemVocab, store: HistoryStore) -> np.ndarray | None:
    """Item text embeddings in vocab order: the training cache, else the store's item collection."""
    from evorec.tools.ranking.training import cached_item_embeddings

    emb = cached_item_embeddings(settings, ds, vocab)
    if emb is not None:
        return emb
    try:
        ids, matrix = store.item_embeddings()
    except EvorecError as e:
        log.warning("no item embeddings from the store: %s", e)
        return None
    if not len(ids):
        return None
    pos = {iid: p for p, iid in enumerate(ids)}
    out = np.zeros((vocab.n_items + 1, matrix.shape[1]), np.float32)
    for i, iid in enumerate(vocab.item_ids[1:], start=1):
        p = pos.get(iid)
        if p is not None:
            out[i] = matrix[p]
    return out
