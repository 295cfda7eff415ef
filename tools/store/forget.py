"""Forgetting a user, durably and everywhere the data layer keeps them.

Places, in order: the user's events in the history store; a tombstone (:mod:`.state`) so no re-ingest,
retrain or restart brings them back; the training delta saved with the models (their added events, and their
dataset rows marked removed); retrain jobs' input deltas under ``HOME/jobs/inputs``. The write generation is
bumped, so every process on this HOME drops the user from its caches at its next read. Callers add their own
places (the Toolbox's per-user caches, the agent's sessions). Model weights keep the user's influence until
the next retraining, which leaves the user out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evorec.settings import Settings
from evorec.tools.data.schema import Dataset
from evorec.tools.store.records import DeleteReport
from evorec.tools.store.writes import delete_user

if TYPE_CHECKING:
    from evorec.tools.store.history import HistoryStore

MODELS_NOTE = ("model weights trained while the user was known are refreshed at the next retrain, which leaves "
               "the user out")


def forget_user(settings: Settings, store: HistoryStore, served: Dataset | None, user_id: str) -> DeleteReport:
    """Forget ``user_id``; ``served``: the dataset the current models were trained on (holds the user's rows)."""
    from evorec.tools.forecast.training_data import erase_from_delta_file, erase_from_saved_delta

    user_id = str(user_id)
    events, new_tombstone = delete_user(store, user_id, tombstone=True)
    removed = {"store_events": events}
    delta_events = delta_rows = 0
    if served is not None:
        delta_events, delta_rows = erase_from_saved_delta(settings, served, user_id)
    removed["training_delta_events"] = delta_events
    removed["training_delta_dataset_rows"] = delta_rows
    inputs = settings.home / "jobs" / "inputs"
    removed["retrain_job_input_events"] = (sum(erase_from_delta_file(p, user_id) for p in inputs.glob("*.json"))
                                           if inputs.is_dir() else 0)
    return DeleteReport(user_id=user_id, events_deleted=events, tombstone=True, removed=removed,
                        models=MODELS_NOTE + ("" if new_tombstone else " (the user was already forgotten)"))
