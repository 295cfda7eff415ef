"""``ForecastService``: a user's next-item scores and category-mix forecast from the CURRENT history.

The caller passes the history it holds (from the store), so events ingested after training
change the answer without retraining. An empty/absent history gets an explicit cold-start
result (population mix, most popular items).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch

from evorec.errors import InvalidRequestError
from evorec.settings import Settings, get_settings
from evorec.tools.data.schema import Dataset
from evorec.tools.data.sequences import History
from evorec.tools.evidence import Evidence
from evorec.tools.forecast.artifacts import ForecasterArtifacts, load_artifacts
from evorec.tools.forecast.mix import category_weights, window_mix
from evorec.tools.forecast.result import MIX_EVIDENCE_ID, CategoryShift, ForecastItem, InterestForecast
from evorec.tools.wording import wording_for

MAX_HORIZON = 200


class ForecastService:
    def __init__(self, artifacts: ForecasterArtifacts, top_categories: int = 5) -> None:
        self.art = artifacts
        self.model = artifacts.model
        self.categories = list(artifacts.manifest.categories)
        self.horizon = artifacts.manifest.horizon
        self.top_categories = top_categories
        mh = np.zeros((self.model.n_items + 1, len(self.categories)), dtype=np.float32)
        cpos = {c: j for j, c in enumerate(self.categories)}
        for i, cats in enumerate(artifacts.item_categories):
            for c in cats:
                if c in cpos:
                    mh[i, cpos[c]] = 1.0
        self.cat_w = category_weights(mh)
        pop = artifacts.popularity.astype(np.float64)
        self.population_mix = (pop[:, None] * self.cat_w).sum(0)
        if self.population_mix.sum() > 0:
            self.population_mix /= self.population_mix.sum()
        self.popular = np.argsort(-pop[1:], kind="stable") + 1

    @classmethod
    def load(cls, settings: Settings | None = None, dataset: str | Dataset | None = None, *,
             fingerprint: str | None = None) -> ForecastService:
        """Load the artifacts of ``dataset`` (a name, or the Dataset itself to verify its fingerprint)."""
        settings = settings or get_settings()
        torch.set_num_threads(settings.threads)
        return cls(load_artifacts(settings, dataset or settings.dataset, fingerprint=fingerprint))

    @property
    def dataset(self) -> str:
        return self.art.manifest.dataset

    @property
    def fingerprint(self) -> str:
        return self.art.manifest.fingerprint

    def history_from_events(self, item_ids: Sequence[str], times: Sequence[int]) -> History:
        """Encode store events (oldest first) as a History; items unknown to the model are skipped."""
        idx = self.art.vocab.index
        keep = [(idx[str(i)], int(t)) for i, t in zip(item_ids, times, strict=True) if str(i) in idx]
        if not keep:
            return History(np.zeros(0, np.int64), np.zeros(0, np.int64))
        order = np.argsort([t for _, t in keep], kind="stable")
        items = np.asarray([keep[k][0] for k in order], np.int64)
        ts = np.asarray([keep[k][1] for k in order], np.int64)
        return History(items, ts)

    def score(self, histories: list[History]) -> np.ndarray:
        """Next-item scores [n, n_items + 1] for many histories (column 0 = padding)."""
        return self.model.full_sort_predict(histories)

    def forecast(self, user_id: str, history: History | None, horizon: int | None = None,
                 k: int = 10, exclude_seen: bool = True) -> InterestForecast:
        return self.forecast_many([user_id], [history], horizon=horizon, k=k, exclude_seen=exclude_seen)[0]

    def forecast_many(self, user_ids: list[str], histories: list[History | None], horizon: int | None = None,
                      k: int = 10, exclude_seen: bool = True) -> list[InterestForecast]:
        """Batch inference: one forward pass for all users with a history."""
        if len(user_ids) != len(histories):
            raise InvalidRequestError("user_ids and histories differ in length")
        if horizon is not None and not 1 <= horizon <= MAX_HORIZON:
            raise InvalidRequestError(f"horizon must be in 1..{MAX_HORIZON}, got {horizon}")
        if not 1 <= k <= self.model.n_items:
            raise InvalidRequestError(f"k must be in 1..{self.model.n_items}, got {k}")
        t0 = time.perf_counter()
        warm = [i for i, h in enumerate(histories) if h is not None and len(h) > 0]
        scores = np.zeros((0, 0), np.float32)
        mixes = np.zeros((0, 0))
        if warm:
            scores, mixes = self.model.predict([histories[i] for i in warm])  # type: ignore[misc]
        ms = 1000 * (time.perf_counter() - t0) / max(1, len(user_ids))
        out: list[InterestForecast] = []
        row = {i: r for r, i in enumerate(warm)}
        for i, uid in enumerate(user_ids):
            if i in row:
                h = histories[i]
                assert h is not None
                out.append(self._warm(str(uid), h, scores[row[i]], mixes[row[i]], k, exclude_seen, ms))
            else:
                out.append(self._cold(str(uid), k, ms))
        return out

    def forecast_with_scores(self, user_id: str, history: History, k: int = 10,
                             exclude_seen: bool = True) -> tuple[InterestForecast, np.ndarray]:
        """The forecast at the model's horizon AND the raw next-item scores [n_items + 1] (column 0 = padding), from
        ONE forward pass — what ranking needs. ``history`` must not be empty (cold start has no scores)."""
        if not len(history):
            raise InvalidRequestError("forecast_with_scores needs a non-empty history")
        t0 = time.perf_counter()
        scores, mixes = self.model.predict([history])
        ms = 1000 * (time.perf_counter() - t0)
        fc = self._warm(str(user_id), history, scores[0], mixes[0], k, exclude_seen, ms)
        return fc, np.asarray(scores[0], dtype=np.float64)

    def _mix_dict(self, mix: np.ndarray) -> dict[str, float]:
        return {c: round(float(v), 4) for c, v in zip(self.categories, mix, strict=True) if v >= 0.0005}

    def _shifts(self, current: np.ndarray, forecast: np.ndarray) -> list[CategoryShift]:
        order = np.argsort(-np.maximum(current, forecast), kind="stable")[: self.top_categories]
        return [CategoryShift(category=self.categories[j], current=round(float(current[j]), 4),
                              forecast=round(float(forecast[j]), 4)) for j in order if max(current[j], forecast[j]) > 0]

    def _mix_evidence(self, uid: str, shifts: list[CategoryShift], cold: bool) -> Evidence:
        """``ev:forecast:mix``, written for the person: their recent mix and where it is heading."""
        numbers: dict[str, float] = {}
        for s in shifts:
            numbers[f"current:{s.category}"] = s.current
            numbers[f"forecast:{s.category}"] = s.forecast
        plural = wording_for(self.dataset).plural
        said = [s for s in shifts if max(s.current, s.forecast) >= 0.005]  # "Western 0%" says nothing
        now = ", ".join(f"{s.category} {100 * s.current:.0f}%" for s in said)
        ahead = ", ".join(f"{s.category} {100 * s.forecast:.0f}%" for s in said)
        if cold:
            text = f"You have no history here yet; across everyone, {plural} are {now}."
        else:
            text = (f"Your last {self.horizon} {plural}: {now}; your next {self.horizon} look set to be {ahead}.")
        numbers["horizon"] = float(self.horizon)
        return Evidence(id=MIX_EVIDENCE_ID, kind="cold_start" if cold else "forecast", text=text, numbers=numbers)

    def _items(self, scores: np.ndarray, k: int, exclude: np.ndarray | None) -> list[ForecastItem]:
        s = scores.astype(np.float64, copy=True)
        s[0] = -np.inf
        if exclude is not None and len(exclude):
            s[exclude] = -np.inf
        top = np.argpartition(-s, min(k, len(s) - 1))[: k + 1]
        top = top[np.argsort(-s[top], kind="stable")][:k]
        return [ForecastItem(item_id=self.art.vocab.item_ids[i], title=self.art.titles[i], score=round(float(s[i]), 4),
                             categories=self.art.item_categories[i]) for i in top if np.isfinite(s[i])]

    def _warm(self, uid: str, h: History, scores: np.ndarray, mix: np.ndarray, k: int, exclude_seen: bool,
              ms: float) -> InterestForecast:
        current = window_mix(h.items[-self.horizon:], self.cat_w)
        shifts = self._shifts(current, mix)
        items = self._items(scores, k, h.items if exclude_seen else None)
        ev = [self._mix_evidence(uid, shifts, cold=False)]
        for rank, it in enumerate(items[:5], start=1):
            ev.append(Evidence(id=f"ev:forecast:{it.item_id}", kind="forecast", item_id=it.item_id,
                               text=f"Judging by the order of your recent {wording_for(self.dataset).plural}, "
                                    f"{it.title} is one of your likeliest next picks.",
                               numbers={"rank": float(rank), "score": it.score}))
        return InterestForecast(user_id=uid, cold_start=False, dataset=self.dataset, horizon=self.horizon,
                                n_events=len(h), current_mix=self._mix_dict(current), forecast_mix=self._mix_dict(mix),
                                shifts=shifts, top_items=items, evidence=ev, timings_ms={"model_per_user": ms})

    def _cold(self, uid: str, k: int, ms: float) -> InterestForecast:
        pop = self.art.popularity
        items = [ForecastItem(item_id=self.art.vocab.item_ids[i], title=self.art.titles[i], score=float(pop[i]),
                              categories=self.art.item_categories[i]) for i in self.popular[:k]]
        shifts = self._shifts(self.population_mix, self.population_mix)
        ev = [self._mix_evidence(uid, shifts, cold=True)]
        mix = self._mix_dict(self.population_mix)
        return InterestForecast(user_id=uid, cold_start=True, dataset=self.dataset, horizon=self.horizon, n_events=0,
                                current_mix=mix, forecast_mix=mix, shifts=shifts, top_items=items, evidence=ev,
                                timings_ms={"model_per_user": ms})
