"""What the serving models learn from: the dataset files as ingested, plus what the history store learned since.

``POST /v1/events`` (``Toolbox.add_events``) writes only to the store, and ``DELETE /v1/users/{id}`` removes
a user's events there too. Retraining must see both, so the training data is composed as

    training dataset = base dataset (files, fingerprint = the store's ingest manifest)
                       − base events no longer in the store (forgotten users)
                       + events in the store that the base does not have (added at run time)

The difference is a :class:`DataDelta`, saved next to the forecaster checkpoint. Serving rebuilds the very
same composed :class:`Dataset` from base + saved delta, so every artifact check stays an exact fingerprint
match (forecaster, fusion), while the store check still compares the store's ingest manifest with the base.
Events added after the last training are not in the delta: they reach answers through the store at request
time (adaptive ingest) and reach the models at the next retraining.

Forgotten users (the store's tombstones, :mod:`evorec.tools.store.state`) are left out of every training
dataset: base rows and added events alike (:func:`without_forgotten`, applied when a delta is taken and again
when ``prepare`` trains). Forgetting a user also erases them from the saved delta at once
(:func:`erase_from_saved_delta`): the served dataset then lacks the user, while keeping the fingerprint of the
data the models were trained on (:class:`ServedDataset`), so the artifacts still load; the model weights
themselves lose the user's influence at the next retraining.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, ValidationError

from evorec.errors import ArtifactError
from evorec.settings import Settings
from evorec.tools.data.schema import Dataset

log = logging.getLogger(__name__)

DELTA_FILE = "training_delta.json"


class AddedEvents(BaseModel):
    """Events in the store but not in the base dataset, column by column (rating None where absent)."""

    user_id: list[str] = Field(default_factory=list)
    item_id: list[str] = Field(default_factory=list)
    ts: list[int] = Field(default_factory=list)
    rating: list[float | None] = Field(default_factory=list)
    row: list[int] = Field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"user_id": self.user_id, "item_id": self.item_id,
                             "ts": np.asarray(self.ts, np.int64),
                             "rating": np.asarray([np.nan if r is None else r for r in self.rating], np.float64),
                             "row": np.asarray(self.row, np.int64)})


class DataDelta(BaseModel):
    """How the store's events differ from the base dataset they were ingested from."""

    dataset: str
    source: str = Field("", description="The base dataset's directory (Dataset.source).")
    base_fingerprint: str
    added: AddedEvents = Field(default_factory=AddedEvents)
    removed_rows: list[int] = Field(default_factory=list, description="Base `row`s no longer in the store.")
    skipped_unknown_items: int = Field(0, description="Added events naming items outside the catalog (left out).")
    trained_fingerprint: str = Field("", description="Set once users were erased from a delta saved with trained "
                                                     "artifacts: the fingerprint of the data they were trained on.")
    erased_users: int = Field(0, description="Users erased from this saved delta since training (forgotten).")

    @property
    def n_added(self) -> int:
        return len(self.added.user_id)

    @property
    def n_removed(self) -> int:
        return len(self.removed_rows)

    @property
    def empty(self) -> bool:
        return not self.n_added and not self.n_removed and not self.trained_fingerprint

    @classmethod
    def none(cls, base: Dataset) -> DataDelta:
        return cls(dataset=base.name, source=base.source, base_fingerprint=base.fingerprint())


def store_delta(base: Dataset, events: pd.DataFrame) -> DataDelta:
    """The delta between ``base`` and the store's ``events`` (``HistoryStore.events_frame()``)."""
    from evorec.tools.store.history import event_ids

    ints = base.interactions
    base_ids = pd.Index(event_ids(ints["user_id"].tolist(), ints["item_id"].tolist(), ints["ts"].tolist()))
    store_ids = pd.Index(events["event_id"])
    removed = ints["row"].to_numpy(np.int64)[~base_ids.isin(store_ids)]
    new = events[~store_ids.isin(base_ids)]
    known = new["item_id"].isin(set(base.items["item_id"]))
    skipped = int((~known).sum())
    if skipped:
        log.warning("%d added events name items outside the %s catalog; they are left out of training",
                    skipped, base.name)
    new = new[known].sort_values(["ts", "row", "event_id"], kind="stable")
    added = AddedEvents(user_id=new["user_id"].astype(str).tolist(), item_id=new["item_id"].astype(str).tolist(),
                        ts=[int(t) for t in new["ts"]], row=[int(r) for r in new["row"]],
                        rating=[None if np.isnan(r) else float(r) for r in new["rating"]])
    return DataDelta(dataset=base.name, source=base.source, base_fingerprint=base.fingerprint(), added=added,
                     removed_rows=sorted(int(r) for r in removed), skipped_unknown_items=skipped)


@dataclass
class ServedDataset(Dataset):
    """The trained-on dataset minus users forgotten since training. Its fingerprint is that of the data the
    artifacts were trained on (``identity``), so they keep loading until the next retraining."""

    identity: str = ""

    def fingerprint(self) -> str:
        return self.identity or super().fingerprint()


def compose(base: Dataset, delta: DataDelta) -> Dataset:
    """Base minus removed plus added; the base itself when the delta is empty."""
    if delta.base_fingerprint != base.fingerprint():
        raise ArtifactError(f"training delta was taken against other {base.name!r} data (fingerprint "
                            f"{delta.base_fingerprint}, data is {base.fingerprint()}); retrain")
    if delta.empty:
        return base
    ints = base.interactions
    kept = ints[~ints["row"].isin(delta.removed_rows)] if delta.removed_rows else ints
    both = pd.concat([kept, delta.added.frame()], ignore_index=True)
    if delta.trained_fingerprint:
        return ServedDataset(name=base.name, interactions=both, items=base.items.copy(),
                             categories=list(base.categories), source=base.source, identity=delta.trained_fingerprint)
    return Dataset(name=base.name, interactions=both, items=base.items.copy(), categories=list(base.categories),
                   source=base.source)


def forgotten_users(settings: Settings, name: str, users: Any) -> set[str]:
    """Which of ``users`` are forgotten in the store state of ``settings.home`` (no Chroma needed)."""
    from evorec.tools.store.state import state_path, store_state

    if not state_path(settings).is_file():
        return set()
    return store_state(settings).forgotten(name, users)


def _drop_users(delta: DataDelta, users: set[str], base_rows: list[int]) -> tuple[DataDelta, int, int]:
    """``delta`` without the added events of ``users`` and with ``base_rows`` removed; (new delta, added events
    dropped, base rows newly removed)."""
    a = delta.added
    keep = [k for k, u in enumerate(a.user_id) if u not in users]
    dropped = len(a.user_id) - len(keep)
    removed = set(delta.removed_rows)
    new_rows = sorted(set(base_rows) - removed)
    added = AddedEvents(user_id=[a.user_id[k] for k in keep], item_id=[a.item_id[k] for k in keep],
                        ts=[a.ts[k] for k in keep], rating=[a.rating[k] for k in keep], row=[a.row[k] for k in keep])
    out = delta.model_copy(update={"added": added, "removed_rows": sorted(removed | set(new_rows))})
    return out, dropped, len(new_rows)


def without_forgotten(settings: Settings, base: Dataset, delta: DataDelta) -> DataDelta:
    """``delta`` with every forgotten user left out: their added events dropped, their base rows removed."""
    users = forgotten_users(settings, base.name, set(base.interactions["user_id"]) | set(delta.added.user_id))
    if not users:
        return delta
    ints = base.interactions
    rows = ints.loc[ints["user_id"].isin(users), "row"].astype(int).tolist()
    out, dropped, n_rows = _drop_users(delta, users, rows)
    if dropped or n_rows:
        log.info("training leaves out %d forgotten users (%d added events, %d dataset rows)", len(users), dropped,
                 n_rows)
    return out


def erase_from_saved_delta(settings: Settings, ds: Dataset, user_id: str) -> tuple[int, int]:
    """Erase ``user_id`` from the training delta saved with the current artifacts (``ds``: the served dataset,
    which holds the user's base rows). Returns (added events erased, base rows marked removed); (0, 0) when
    there are no artifacts or the user is not in the trained data."""
    from evorec.tools.forecast.artifacts import artifacts_path, read_manifest
    from evorec.tools.store.writes import ADDED_ROW_BASE

    try:
        manifest = read_manifest(settings, ds.name)
    except ArtifactError:
        return 0, 0
    ints = ds.interactions
    mine = ints.loc[ints["user_id"] == str(user_id), "row"].astype(int)
    base_rows = [r for r in mine.tolist() if r < ADDED_ROW_BASE]
    path = artifacts_path(settings, ds.name) / DELTA_FILE
    if path.is_file():
        delta = read_delta(path)
    elif manifest.fingerprint == manifest.base_fingerprint:  # trained on the files alone
        delta = DataDelta(dataset=ds.name, source=ds.source, base_fingerprint=manifest.base_fingerprint)
    else:
        return 0, 0
    out, dropped, n_rows = _drop_users(delta, {str(user_id)}, base_rows)
    if not dropped and not n_rows:
        return 0, 0
    out.trained_fingerprint = delta.trained_fingerprint or manifest.fingerprint
    out.erased_users = delta.erased_users + 1
    save_delta(path.parent, out)
    return dropped, n_rows


def erase_forgotten(settings: Settings, ds: Dataset) -> int:
    """Erase from the saved delta every forgotten user still in ``ds`` (the data just trained on): closes the
    window of a user forgotten while training ran. Returns how many users were erased."""
    users = forgotten_users(settings, ds.name, set(ds.interactions["user_id"]))
    return sum(1 for u in sorted(users) if any(erase_from_saved_delta(settings, ds, u)))


def erase_from_delta_file(path: Path, user_id: str) -> int:
    """Drop ``user_id``'s added events from a delta file (a retrain job's input); returns how many."""
    try:
        delta = read_delta(path)
    except ArtifactError:
        return 0
    out, dropped, _ = _drop_users(delta, {str(user_id)}, [])
    if dropped:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(out.model_dump_json())
        tmp.replace(path)
    return dropped


def save_delta(directory: Path, delta: DataDelta) -> None:
    """Write (or, for an empty delta, remove) the delta file in ``directory``."""
    path = directory / DELTA_FILE
    if delta.empty:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text(delta.model_dump_json())
    tmp.replace(path)


def read_delta(path: Path) -> DataDelta:
    try:
        return DataDelta.model_validate_json(path.read_text())
    except (OSError, ValidationError, ValueError) as e:
        raise ArtifactError(f"{path}: unreadable training delta ({e.__class__.__name__}); retrain") from None


def ingested_base(settings: Settings, store: Any, name: str, path: Path | None = None) -> Dataset:
    """The dataset as ingested into ``store``: ``path``, else the directory its manifest names, else the default."""
    from evorec.tools.data.loader import load_dataset

    if path is None:
        source = str(store.manifest.get("source") or "")
        if source and Path(source).is_dir():
            path = Path(source)
    return load_dataset(name, path=path, settings=settings)


def delta_from_store(settings: Settings, base: Dataset, store: Any = None) -> DataDelta:
    """Read the store (``HistoryStore``; opened when not given) and diff it against ``base``. A store not holding
    this base (not ingested, other data) contributes nothing: training uses the files alone."""
    from evorec.tools.store.history import HistoryStore

    store = store if store is not None else HistoryStore.open(settings, base.name)
    if store.manifest.get("fingerprint") != base.fingerprint() or not store.is_ingested:
        log.info("the history store does not hold this %s data; training on the dataset files only", base.name)
        return without_forgotten(settings, base, DataDelta.none(base))
    return without_forgotten(settings, base, store_delta(base, store.events_frame()))


def served_dataset(settings: Settings, base: Dataset) -> Dataset:
    """The dataset the current forecaster was trained on: ``base`` plus its saved delta (when it was trained on
    this base), else ``base`` itself (no artifacts yet, or artifacts of other data: loading them then refuses)."""
    from evorec.tools.forecast.artifacts import artifacts_path, read_manifest

    try:
        manifest = read_manifest(settings, base.name)
    except ArtifactError:
        return base
    if manifest.base_fingerprint != base.fingerprint():
        return base
    path = artifacts_path(settings, base.name) / DELTA_FILE
    if manifest.fingerprint == base.fingerprint() and not path.is_file():
        return base
    if not path.is_file():
        raise ArtifactError(f"{path.parent}: the forecaster was trained on {manifest.added_events} added events "
                            f"but {DELTA_FILE} is missing; run `evorec train --dataset {base.name}`")
    return compose(base, read_delta(path))
