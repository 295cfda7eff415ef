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


@dataclass
class _SplitBuilder:
    """Collects one protocol's training histories and validation/test cases, then builds the ``Split``."""

    data: SequenceData
    train_u: list[str] = field(default_factory=list)
    train_h: list[History] = field(default_factory=list)
    cases: dict[str, tuple[list[History], list[int], list[str]]] = field(
        default_factory=lambda: {"valid": ([], [], []), "test": ([], [], [])})

    def case(self, part: Literal["valid", "test"], uid: str, h: History, n_history: int) -> None:
        """A case of ``part``: the first ``n_history`` events are the history, the next one the target."""
        hists, targets, users = self.cases[part]
        hists.append(_head(h, n_history))
        targets.append(int(h.items[n_history]))
        users.append(uid)

    def train(self, uid: str, h: History, n_train: int) -> None:
        if n_train > 0:
            self.train_u.append(uid)
            self.train_h.append(_head(h, n_train))

    def build(self, protocol: Protocol, lead: dict[str, Any], tail: dict[str, Any]) -> Split:
        """The split; ``details`` = ``lead``, the counts every protocol reports, then ``tail``."""
        details = {
            **lead,
            "users": len(self.data.user_ids),
            "train_users": len(self.train_u),
            "train_events": int(sum(len(h) for h in self.train_h)),
            "valid_cases": len(self.cases["valid"][1]),
            "test_cases": len(self.cases["test"][1]),
            **tail,
        }
        return Split(self.data.with_histories(self.train_u, self.train_h), _as_validation_set(self.cases["valid"]),
                     _as_validation_set(self.cases["test"]), protocol, details)


def _as_validation_set(parts: tuple[list[History], list[int], list[str]]) -> ValidationSet:
    hists, targets, users = parts
    return ValidationSet(histories=hists, targets=np.asarray(targets, dtype=np.int64), user_ids=users)


def _head(h: History, n: int) -> History:
    return History(items=h.items[:n].copy(), times=h.times[:n].copy())


def leave_one_out(data: SequenceData, min_history: int = 1) -> Split:
    """Per user: last event → test, second-to-last → validation, the rest → training."""
    if min_history < 1:
        raise InvalidRequestError(f"min_history must be >= 1, got {min_history}")
    out = _SplitBuilder(data)
    n_only_train = 0
    for uid, h in zip(data.user_ids, data.histories, strict=True):
        n = len(h)
        if n - 1 < min_history:
            n_train = n
            n_only_train += 1
        else:
            out.case("test", uid, h, n - 1)
            if n - 2 >= min_history:
                out.case("valid", uid, h, n - 2)
                n_train = n - 2
            else:
                n_train = n - 1
        out.train(uid, h, n_train)
    return out.build("loo", {"min_history": min_history}, {"users_train_only": n_only_train})


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
    out = _SplitBuilder(data)
    future_events = 0
    for uid, h in zip(data.user_ids, data.histories, strict=True):
        # histories are time-ordered, so the past is a prefix
        n_past = int(np.searchsorted(h.times, cutoff_ts, side="left"))
        future_events += len(h) - n_past
        if n_past >= min_history and n_past < len(h):
            out.case("test", uid, h, n_past)
        n_train = n_past
        if n_past - 1 >= min_history:
            out.case("valid", uid, h, n_past - 1)
            n_train = n_past - 1
        out.train(uid, h, n_train)
    if not out.cases["test"][1]:
        raise InvalidRequestError(
            f"temporal cut-off {cutoff_ts} leaves no user with history before it and an event after it")
    return out.build("temporal", {"cutoff_ts": int(cutoff_ts), "min_history": min_history},
                     {"future_events": future_events})


def make_split(data: SequenceData, protocol: str, *, cutoff_ts: int | None = None, min_history: int = 1,
               cutoff_quantile: float = 0.9) -> Split:
    """Dispatch by protocol name (what the CLI and runner call)."""
    if protocol == "loo":
        return leave_one_out(data, min_history=min_history)
    if protocol == "temporal":
        cut = cutoff_ts if cutoff_ts is not None else temporal_cutoff(data, cutoff_quantile)
        return temporal_split(data, cut, min_history=min_history)
    raise InvalidRequestError(f"unknown protocol {protocol!r}; available: loo, temporal")
