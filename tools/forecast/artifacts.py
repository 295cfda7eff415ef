"""Train the forecaster for serving and persist it under ``settings.artifacts_dir(dataset)/forecaster/``.

Files: ``model.pt`` (checkpoint), ``items.json`` (item vocab with titles and categories),
``popularity.npy`` (event count per item index, for cold start), ``manifest.json`` (dataset
name + fingerprint, config, fit report, versions) and, when the store had events the dataset
files lack, ``training_delta.json`` (see :mod:`evorec.tools.forecast.training_data`). Loading
checks the manifest against the data it is asked to serve and refuses a mismatch with an
``ArtifactError``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from pydantic import BaseModel, Field, ValidationError, model_validator

from evorec.errors import ArtifactError
from evorec.settings import Settings
from evorec.tools.data.schema import Dataset
from evorec.tools.data.sequences import History, ItemVocab, SequenceData
from evorec.tools.forecast.calibration import MixBlend
from evorec.tools.forecast.training_data import DELTA_FILE, DataDelta, save_delta
from evorec.tools.models.base import FitReport, ValidationSet
from evorec.tools.models.forecaster import Forecaster
from evorec.tools.models.torch_trainer import resolve_device

log = logging.getLogger(__name__)

SUBDIR = "forecaster"
MANIFEST = "manifest.json"
MODEL_FILE = "model.pt"
ITEMS_FILE = "items.json"
POPULARITY_FILE = "popularity.npy"
FORMAT_VERSION = 1

# ML-100K-tuned defaults (validation split only); see benchmarks/bench_forecaster.py.
SERVING_CONFIG: dict[str, Any] = {}


class ForecastManifest(BaseModel):
    format_version: int = FORMAT_VERSION
    model: str = "forecaster"
    dataset: str
    fingerprint: str = Field(description="Of the data trained on (base dataset + training delta).")
    base_fingerprint: str = Field("", description="Of the dataset files as ingested into the store.")
    added_events: int = Field(0, description="Events from the store the dataset files lack.")
    removed_events: int = Field(0, description="Dataset events no longer in the store (forgotten users).")
    created_at: str
    n_users: int
    n_items: int
    n_events: int
    categories: list[str]
    text_embeddings: bool
    horizon: int
    config: dict[str, Any]
    fit: FitReport
    calib_fraction: float = Field(0.0, description="Share of users whose last window was held out of training to "
                                  "calibrate the interest mix (serving_split).")
    split_seed: int = Field(0, description="Seed of that draw (so the fusion fit rebuilds the same split).")
    mix_calibration: MixBlend | None = Field(None, description="The pool the served mix forecast applies.")
    torch_version: str = Field(default_factory=lambda: torch.__version__)
    files: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _base_defaults_to_data(self) -> ForecastManifest:
        if not self.base_fingerprint:  # written before training deltas existed: trained on the files alone
            self.base_fingerprint = self.fingerprint
        return self


@dataclass
class ForecasterArtifacts:
    manifest: ForecastManifest
    model: Forecaster
    vocab: ItemVocab
    titles: list[str]  # per item index, "" at 0
    item_categories: list[list[str]]  # per item index
    popularity: np.ndarray  # float64 [n_items + 1]
    directory: Path


def artifacts_path(settings: Settings, dataset: str) -> Path:
    return settings.artifacts_dir(dataset) / SUBDIR


def item_text_embeddings(ds: Dataset, vocab: ItemVocab) -> np.ndarray | None:
    """Item text embeddings from the team embedder (row 0 zeros), or None when it is unavailable."""
    try:
        from evorec.tools.store.embedder import get_embedder
    except ImportError:
        log.warning("evorec.tools.store.embedder is not available; training id-only (no text embeddings)")
        return None
    if not ds.has_item_text:  # an ids-only catalog: nothing to embed
        return None
    texts = ds.item_text()
    emb = np.asarray(get_embedder().encode([texts[i] for i in vocab.item_ids[1:]]), dtype=np.float32)
    return np.vstack([np.zeros((1, emb.shape[1]), np.float32), emb])


class ServingSplit(NamedTuple):
    train: SequenceData
    valid: ValidationSet
    calib_histories: list[History]
    calib_futures: list[np.ndarray]


CALIB_FRACTION = 0.25
CALIB_MIN_HISTORY = 5


def serving_split(data: SequenceData, horizon: int = 0, calib_fraction: float = 0.0, seed: int = 0) -> ServingSplit:
    """All events but each user's last for training; the last one validates (early stopping).

    With ``calib_fraction`` > 0, that share of the users with ``CALIB_MIN_HISTORY + horizon`` events (drawn with
    ``seed``) also hold their last ``horizon`` events out of training: out-of-sample windows on which the interest
    head's mix is calibrated (``Forecaster.calibrate_mix``), as the offline mix evaluation does. The split is a pure
    function of its arguments, so the fusion fit rebuilds exactly the split the forecaster saw."""
    calib: set[str] = set()
    if calib_fraction > 0 and horizon > 0:
        long_users = [u for u, h in zip(data.user_ids, data.histories, strict=True)
                      if len(h) >= CALIB_MIN_HISTORY + horizon]
        n_calib = round(calib_fraction * len(long_users))
        if n_calib:
            calib = set(np.random.default_rng(seed).permutation(np.asarray(long_users, dtype=object))[:n_calib])
    train, vh, vt, vu, ch, cf = [], [], [], [], [], []
    for uid, h in zip(data.user_ids, data.histories, strict=True):
        if uid in calib:
            cut = len(h) - horizon
            ch.append(History(h.items[:cut], h.times[:cut]))
            cf.append(h.items[cut:])
            h = History(h.items[:cut], h.times[:cut])
        if len(h) >= 3:
            fit_part = History(h.items[:-1], h.times[:-1])
            train.append(fit_part)
            vh.append(fit_part)
            vt.append(int(h.items[-1]))
            vu.append(uid)
        else:
            train.append(h)
    return ServingSplit(data.with_histories(list(data.user_ids), train),
                        ValidationSet(vh, np.asarray(vt, np.int64), vu), ch, cf)


def train_artifacts(ds: Dataset, settings: Settings, *, epochs: int | None = None, device: str | None = None,
                    seed: int = 0, progress: bool = True, config: dict[str, Any] | None = None,
                    text_emb: np.ndarray | None = None, use_embedder: bool = True,
                    delta: DataDelta | None = None, calib_fraction: float = CALIB_FRACTION) -> ForecastManifest:
    """Train on ``ds`` and write the artifacts; returns the manifest written. ``delta``: how ``ds`` was composed
    from the ingested dataset (saved so serving can rebuild ``ds`` exactly); None = ``ds`` is the files alone.
    ``calib_fraction`` > 0: calibrate the interest mix on that share of users' held-out last windows."""
    torch.set_num_threads(settings.threads)
    data = SequenceData.from_dataset(ds)
    if text_emb is None and use_embedder:
        text_emb = item_text_embeddings(ds, data.vocab)
    data.item_text_emb = text_emb
    cfg: dict[str, Any] = {**SERVING_CONFIG, **(config or {})}
    cfg["device"] = device or settings.device
    cfg["threads"] = settings.threads
    if epochs is not None:
        cfg["epochs"] = epochs
    model = Forecaster(**cfg)
    if not data.item_categories.any():  # an ids-only catalog has no mix to calibrate: hold nothing out
        calib_fraction = 0.0
    split = serving_split(data, model.cfg.horizon, calib_fraction, seed)
    report = model.fit(split.train, split.valid if len(split.valid.histories) else None, seed=seed,
                       progress=progress)
    if split.calib_histories:
        model.calibrate_mix(split.calib_histories, split.calib_futures)
    out = artifacts_path(settings, ds.name)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / MODEL_FILE)
    items = ds.items.set_index("item_id")
    records = [{"item_id": iid, "title": str(items.at[iid, "title"]), "categories": list(items.at[iid, "categories"])}
               for iid in data.vocab.item_ids[1:]]
    (out / ITEMS_FILE).write_text(json.dumps(records))
    delta = delta or DataDelta.none(ds)
    save_delta(out, delta)
    pop = np.bincount(np.concatenate([h.items for h in data.histories]) if data.histories else np.zeros(0, np.int64),
                      minlength=data.n_items + 1).astype(np.float64)
    pop[0] = 0
    np.save(out / POPULARITY_FILE, pop)
    manifest = ForecastManifest(
        dataset=ds.name, fingerprint=ds.fingerprint(), base_fingerprint=delta.base_fingerprint,
        added_events=delta.n_added, removed_events=delta.n_removed,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        n_users=len(data.user_ids), n_items=data.n_items, n_events=int(sum(len(h) for h in data.histories)),
        categories=list(data.category_names), text_embeddings=text_emb is not None, horizon=model.cfg.horizon,
        config=model.cfg.model_dump(), fit=report, calib_fraction=calib_fraction if split.calib_histories else 0.0,
        split_seed=seed, mix_calibration=model.mix_blend,
        files={"model": MODEL_FILE, "items": ITEMS_FILE, "popularity": POPULARITY_FILE,
               **({"delta": DELTA_FILE} if not delta.empty else {})})
    (out / MANIFEST).write_text(manifest.model_dump_json(indent=2))
    return manifest


def read_manifest(settings: Settings, dataset: str) -> ForecastManifest:
    path = artifacts_path(settings, dataset) / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"no forecaster artifacts for dataset {dataset!r} at {path.parent}; "
                            f"run `evorec train --dataset {dataset}` first")
    try:
        return ForecastManifest.model_validate_json(path.read_text())
    except (ValidationError, ValueError) as e:
        raise ArtifactError(f"{path}: unreadable forecaster manifest ({e.__class__.__name__}); retrain") from None


def load_artifacts(settings: Settings, dataset: str | Dataset, *, fingerprint: str | None = None,
                   device: str | None = None) -> ForecasterArtifacts:
    """Load everything in one call. Passing the Dataset (or its fingerprint) verifies it is the data trained on."""
    t0 = time.perf_counter()
    name = dataset.name if isinstance(dataset, Dataset) else dataset
    if isinstance(dataset, Dataset):
        fingerprint = dataset.fingerprint()
    manifest = read_manifest(settings, name)
    if manifest.dataset != name:
        raise ArtifactError(f"artifacts under {name!r} were trained on dataset {manifest.dataset!r}; retrain")
    if fingerprint is not None and fingerprint != manifest.fingerprint:
        if fingerprint == manifest.base_fingerprint:
            raise ArtifactError(f"forecaster artifacts for {name!r} were trained on this data plus "
                                f"{manifest.added_events} events added to the store (and {manifest.removed_events} "
                                f"removed); load them with the data from training_data.served_dataset()")
        raise ArtifactError(f"forecaster artifacts for {name!r} were trained on other data (fingerprint "
                            f"{manifest.fingerprint}, current data {fingerprint}); run `evorec train --dataset {name}`")
    if manifest.format_version != FORMAT_VERSION:
        raise ArtifactError(f"forecaster artifacts format {manifest.format_version} != {FORMAT_VERSION}; retrain")
    d = artifacts_path(settings, name)
    try:
        model = Forecaster.load(d / MODEL_FILE)
        records = json.loads((d / ITEMS_FILE).read_text())
        popularity = np.load(d / POPULARITY_FILE)
    except RuntimeError as e:  # state_dict mismatch: written by another version of the model code
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ArtifactError(f"{d}: checkpoint does not fit this version of the forecaster ({first[:160]}); "
                            f"run `evorec train --dataset {name}`") from None
    except (OSError, ValueError, KeyError) as e:
        raise ArtifactError(f"{d}: damaged forecaster artifacts ({e}); retrain") from None
    if device is not None or settings.device != "auto":
        model.net.to(resolve_device(device or settings.device))  # type: ignore[union-attr]
    vocab = ItemVocab(["<pad>", *[r["item_id"] for r in records]])
    if vocab.n_items != manifest.n_items or model.n_items != manifest.n_items:
        raise ArtifactError(f"{d}: item vocab ({vocab.n_items}) does not match the manifest ({manifest.n_items})")
    log.debug("forecaster artifacts loaded in %.0f ms", 1000 * (time.perf_counter() - t0))
    return ForecasterArtifacts(manifest, model, vocab, ["", *[r["title"] for r in records]],
                               [[], *[list(r["categories"]) for r in records]], popularity, d)
