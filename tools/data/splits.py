"""Evaluation splits over encoded sequences: leave-one-out and global temporal.

Both keep each user's events in their true order, (timestamp, original row), which
``SequenceData`` histories already have; ties between same-second events are therefore
broken by the source file's row order, deterministically.

Leave-one-out (per user, ``n`` events, ``min_history`` = m):
  - ``n - 1 >= m`` (enough history for a test case): the last event is the test target and
    its history is every earlier event (the validation event included).
  - ``n - 2 >= m`` as well: the second-to-last event is the validation target, its history is
    the training history; training sees all but the last two events.
  - only the test case qualifies (e.g. ``n == 2`` with ``m == 1``): no validation target; training
    sees all but the last event.
  - neither qualifies (``n - 1 < m``): the user is never predicted, all events are training data.
  Users whose training history would be empty are left out of ``train``.

Temporal (global cut-off ``cutoff_ts``; an event is *past* when ``ts < cutoff_ts``):
  - test: each user with at least ``m`` past events and at least one future event; target = the
    first future event, history = all past events. Later future events are not targets (one
    target per case, as the metrics expect) and are never shown to any model.
  - validation: for users with at least ``m + 1`` past events, the last past event is the target
    and the earlier past events its history; that event is withheld from training, so it is seen
    only in test-time histories (as in leave-one-out).
  - train: the remaining past events. No future event is visible anywhere except as a test target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from evorec.errors import InvalidRequestError
from evorec.tools.data.sequences import History, SequenceData
from evorec.tools.models.base import ValidationSet

Protocol = Literal["loo", "temporal"]


@dataclass
class Split:
    train: SequenceData
    valid: ValidationSet
    test: ValidationSet
    protocol: Protocol
    details: dict[str, Any] = field(default_factory=dict)


def _empty_set() -> tuple[list[History], list[int], list[str]]:
    return [], [], []


def _as_validation_set(parts: tuple[list[History], list[int], list[str]]) -> ValidationSet:
    hists, targets, users = parts
    return ValidationSet(histories=hists, targets=np.asarray(targets, dtype=np.int64), user_ids=users)


def _head(h: History, n: int) -> History:
    return History(items=h.items[:n].copy(), times=h.times[:n].copy())


def leave_one_out(data: SequenceData, min_history: int = 1) -> Split:
    """Per user: last event → test, second-to-last → validation, the rest → training."""
    if min_history < 1:
        raise InvalidRequestError(f"min_history must be >= 1, got {min_history}")
    train_u: list[str] = []
    train_h: list[History] = []
    valid = _empty_set()
    test = _empty_set()
    n_only_train = 0
    for uid, h in zip(data.user_ids, data.histories, strict=True):
        n = len(h)
        if n - 1 < min_history:
            n_train = n
            n_only_train += 1
        else:
            test[0].append(_head(h, n - 1))
            test[1].append(int(h.items[n - 1]))
            test[2].append(uid)
            if n - 2 >= min_history:
                valid[0].append(_head(h, n - 2))
                valid[1].append(int(h.items[n - 2]))
                valid[2].append(uid)
                n_train = n - 2
            else:
                n_train = n - 1
        if n_train > 0:
            train_u.append(uid)
            train_h.append(_head(h, n_train))
    details = {
        "min_history": min_history,
        "users": len(data.user_ids),
        "train_users": len(train_u),
        "train_events": int(sum(len(h) for h in train_h)),
        "valid_cases": len(valid[1]),
        "test_cases": len(test[1]),
        "users_train_only": n_only_train,
    }
    return Split(data.with_histories(train_u, train_h), _as_validation_set(valid), _as_validation_set(test),
                 "loo", details)


def temporal_cutoff(data: SequenceData, quantile: float = 0.9) -> int:
    """A cut-off timestamp at the given quantile of all event times (so ~1-q of events lie after it)."""
    if not 0.0 < quantile < 1.0:
        raise InvalidRequestError(f"quantile must be in (0, 1), got {quantile}")
    times = np.concatenate([h.times for h in data.histories]) if data.histories else np.zeros(0, np.int64)
    if times.size == 0:
        raise InvalidRequestError("dataset has no events to split")
    return int(np.quantile(times, quantile, method="higher"))


def temporal_split(data: SequenceData, cutoff_ts: int, min_history: int = 1) -> Split:
    """Global time cut: train on the past only, predict each user's first event at or after ``cutoff_ts``."""
    if min_history < 1:
        raise InvalidRequestError(f"min_history must be >= 1, got {min_history}")
    train_u: list[str] = []
    train_h: list[History] = []
    valid = _empty_set()
    test = _empty_set()
    future_events = 0
    for uid, h in zip(data.user_ids, data.histories, strict=True):
        # histories are time-ordered, so the past is a prefix
        n_past = int(np.searchsorted(h.times, cutoff_ts, side="left"))
        future_events += len(h) - n_past
        if n_past >= min_history and n_past < len(h):
            test[0].append(_head(h, n_past))
            test[1].append(int(h.items[n_past]))
            test[2].append(uid)
        n_train = n_past
        if n_past - 1 >= min_history:
            valid[0].append(_head(h, n_past - 1))
            valid[1].append(int(h.items[n_past - 1]))
            valid[2].append(uid)
            n_train = n_past - 1
        if n_train > 0:
            train_u.append(uid)
            train_h.append(_head(h, n_train))
    if not test[1]:
        raise InvalidRequestError(
            f"temporal cut-off {cutoff_ts} leaves no user with history before it and an event after it")
    details = {
        "cutoff_ts": int(cutoff_ts),
        "min_history": min_history,
        "users": len(data.user_ids),
        "train_users": len(train_u),
        "train_events": int(sum(len(h) for h in train_h)),
        "valid_cases": len(valid[1]),
        "test_cases": len(test[1]),
        "future_events": future_events,
    }
    return Split(data.with_histories(train_u, train_h), _as_validation_set(valid), _as_validation_set(test),
                 "temporal", details)


def make_split(data: SequenceData, protocol: str, *, cutoff_ts: int | None = None, min_history: int = 1,
               cutoff_quantile: float = 0.9) -> Split:
    """Dispatch by protocol name (what the CLI and runner call)."""
    if protocol == "loo":
        return leave_one_out(data, min_history=min_history)
    if protocol == "temporal":
        cut = cutoff_ts if cutoff_ts is not None else temporal_cutoff(data, cutoff_quantile)
        return temporal_split(data, cut, min_history=min_history)
    raise InvalidRequestError(f"unknown protocol {protocol!r}; available: loo, temporal")
