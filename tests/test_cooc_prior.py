"""The forecaster's co-occurrence prior: its counts, its leak guard, and its round trip through a checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from evorec.tools.data.schema import Dataset
from evorec.tools.data.sequences import History, SequenceData
from evorec.tools.data.splits import leave_one_out
from evorec.tools.models.cooc_prior import CoocPrior, neighbour_tables
from evorec.tools.models.forecaster import Forecaster

TINY = {"hidden": 16, "blocks": 1, "heads": 1, "max_len": 20, "batch_size": 32, "epochs": 2, "device": "cpu",
        "threads": 1, "patience": 2}


def hist(*items: int) -> History:
    return History(items=np.array(items, dtype=np.int64), times=np.arange(len(items), dtype=np.int64))


def test_tables_count_users_who_have_both_ranked_by_shrunk_cosine() -> None:
    # item 1 with 2: users 0 and 1; item 1 with 3: user 2 only; 4 never meets 1
    hs = [hist(1, 2), hist(2, 1, 1), hist(1, 3), hist(4, 2)]
    idx, cnt, users = neighbour_tables(hs, n_items=4, k=3, shrink=0.0)
    assert users.tolist() == [0, 3, 3, 1, 1]
    assert idx[1].tolist() == [2, 3, 0]  # cos(1,2) = 2/3 > cos(1,3) = 1/sqrt(3)
    assert cnt[1].tolist() == [2.0, 1.0, 0.0]
    assert idx[0].tolist() == [0, 0, 0] and cnt[0].sum() == 0  # padding has no neighbours


def test_a_training_row_does_not_see_its_own_pairs() -> None:
    """Item 2 follows item 1 for user A only: when training on A, the prior for 2 after 1 must be 0; for a new
    user after 1, it is positive (A's pair is real evidence then)."""
    hs = [hist(1, 2), hist(3, 4), hist(3, 4)]
    prior = CoocPrior(n_items=4, d=8, k=3, lags=1, shrink=0.0)
    prior.set_tables(*neighbour_tables(hs, n_items=4, k=3, shrink=0.0))
    hidden = torch.zeros(1, 8)
    train_batch = {"items": torch.tensor([[1, 0]]), "targets": torch.tensor([[2, 0]])}
    rows = torch.tensor([[True, False]])
    own = prior(hidden, train_batch, rows)
    assert own[0, 2] == 0.0
    new_user = {"items": torch.tensor([[3, 1]])}
    seen = prior(hidden, new_user, None)
    assert seen[0, 2] > 0
    # and the pair 3 -> 4, held by two users: training one of them still sees the other's
    other = prior(hidden, {"items": torch.tensor([[3, 0]]), "targets": torch.tensor([[4, 0]])}, rows)
    assert other[0, 4] > 0


def test_reading_more_events_does_not_make_the_prior_louder_at_start() -> None:
    """At initialisation the lags share one total weight: a history whose last 5 events are all item 1 gets the
    same prior from a 1-lag and a 5-lag model (a 5-lag prior at full weight per lag stalled training on ML-100K)."""
    hs = [hist(1, 2), hist(1, 2), hist(1, 3)]
    tables = neighbour_tables(hs, n_items=3, k=3, shrink=0.0)
    batch = {"items": torch.tensor([[1, 1, 1, 1, 1]])}
    got = []
    for lags in (1, 5):
        prior = CoocPrior(n_items=3, d=8, k=3, lags=lags, shrink=0.0)
        prior.set_tables(*tables)
        got.append(prior(torch.zeros(1, 8), batch, None))
    assert got[0][0, 2] > 0
    torch.testing.assert_close(got[0], got[1])


def test_forecaster_with_the_prior_trains_and_round_trips(synthetic_dataset: Dataset, tmp_path: Path) -> None:
    data = SequenceData.from_dataset(synthetic_dataset)
    split = leave_one_out(data)
    m = Forecaster(**TINY, cooc_prior=True, cooc_k=30)
    m.fit(split.train, split.valid, seed=0, progress=False)
    hs = split.test.histories
    scores = m.full_sort_predict(hs)
    m.save(tmp_path / "f.pt")
    loaded = Forecaster.load(tmp_path / "f.pt")
    np.testing.assert_array_equal(scores, loaded.full_sort_predict(hs))
    # the prior is in the scores: switching its tables off changes them
    net = loaded._net()
    net.cooc.cnt.zero_()
    assert not np.array_equal(scores, loaded.full_sort_predict(hs))


def test_a_checkpoint_from_before_the_prior_loads_without_it(synthetic_dataset: Dataset, tmp_path: Path) -> None:
    """The prior is on by default now; a checkpoint written before the option existed has no tables and must load
    as the model it was (no prior), not fail on missing buffers."""
    data = SequenceData.from_dataset(synthetic_dataset)
    split = leave_one_out(data)
    m = Forecaster(**TINY, cooc_prior=False)
    m.fit(split.train, split.valid, seed=0, progress=False)
    m.save(tmp_path / "old.pt")
    blob = torch.load(tmp_path / "old.pt", weights_only=False)
    for key in ("cooc_prior", "cooc_k", "cooc_lags", "cooc_shrink"):
        del blob["config"][key]
    torch.save(blob, tmp_path / "old.pt")
    loaded = Forecaster.load(tmp_path / "old.pt")
    assert loaded.cfg.cooc_prior is False
    hs = split.test.histories
    np.testing.assert_array_equal(m.full_sort_predict(hs), loaded.full_sort_predict(hs))
    assert Forecaster().cfg.cooc_prior is True  # and a new model has it
