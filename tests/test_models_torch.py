"""SASRec+ and the forecaster through the shared torch trainer: shapes, seeding, round-trips, the loop's pieces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evorec.tools.data.schema import Dataset
from evorec.tools.data.sequences import History, SequenceData
from evorec.tools.data.splits import leave_one_out
from evorec.tools.models import available_models, create_model
from evorec.tools.models.forecaster import Forecaster
from evorec.tools.models.sasrec_ce import SASRecCE
from evorec.tools.models.torch_trainer import gap_buckets, make_windows, ndcg10_sum

TINY = {"hidden": 16, "blocks": 1, "heads": 1, "max_len": 20, "batch_size": 32, "epochs": 2, "device": "cpu",
        "threads": 1, "patience": 2}


@pytest.fixture
def data(synthetic_dataset: Dataset) -> SequenceData:
    return SequenceData.from_dataset(synthetic_dataset)


def test_registered() -> None:
    assert {"sasrec_ce", "forecaster"} <= set(available_models())


def ndcg_at_10_reference(scores: np.ndarray, histories: list[History], targets: np.ndarray) -> float:
    """The plain numpy statement of validation NDCG@10 (float64), the oracle for the device-side one."""
    s = scores.astype(np.float64, copy=True)
    s[:, 0] = -np.inf
    for i, h in enumerate(histories):
        s[i, h.items] = -np.inf
    tgt = s[np.arange(len(s)), targets]
    rank = (s > tgt[:, None]).sum(axis=1)  # 0-based; ties resolved in the target's favour
    gains = np.where((rank < 10) & np.isfinite(tgt), 1.0 / np.log2(rank + 2.0), 0.0)
    return float(gains.mean()) if len(gains) else 0.0


def test_ndcg_at_10_hand_computed() -> None:
    import torch

    scores = np.array([[0, 5, 4, 3, 2, 1.0], [0, 1, 2, 3, 4, 5.0]])
    hists = [History(np.array([1]), np.array([0])), History(np.array([5]), np.array([0]))]
    # row 0: item 1 masked (seen) -> item 3 ranks second (after item 2): 1/log2(3)
    # row 1: item 5 masked -> item 1 ranks last of 4 remaining: 1/log2(5)
    want = (1 / np.log2(3) + 1 / np.log2(5)) / 2
    assert ndcg_at_10_reference(scores, hists, np.array([3, 1])) == pytest.approx(want)
    got = float(ndcg10_sum(torch.from_numpy(scores.astype(np.float32)), hists, np.array([3, 1]))) / 2
    assert got == pytest.approx(want)


def test_device_side_validation_ndcg_equals_the_numpy_reference() -> None:
    """Validation NDCG@10 is computed where the scores are (a GPU's, in training): same numbers as the numpy
    reference on random scores with ties, seen items, a seen target and long histories."""
    import torch

    rng = np.random.default_rng(3)
    n_items, rows = 300, 64
    scores = rng.integers(0, 40, size=(rows, n_items + 1)).astype(np.float32)  # many ties
    hists = [History(rng.choice(np.arange(1, n_items + 1), size=int(rng.integers(0, 120)), replace=False),
                     np.zeros(0)) for _ in range(rows)]
    targets = rng.integers(1, n_items + 1, size=rows)
    targets[0] = hists[0].items[0] if len(hists[0].items) else 1  # a seen target scores 0
    want = ndcg_at_10_reference(scores, hists, targets)
    got = float(ndcg10_sum(torch.from_numpy(scores.copy()), hists, targets)) / rows
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert 0 < want < 1


def test_windows_predict_the_next_event_only() -> None:
    h = History(np.arange(1, 8), np.array([0, 10, 10, 100, 1000, 1000, 5000]))
    ws = make_windows([h], max_len=4)
    assert [len(w.items) for w in ws] == [4, 2]
    for w in ws:
        assert np.array_equal(w.targets, w.items + 1)  # items are 1..7 in order: the target is the next one
        assert w.times[0] == 0 and np.all(np.diff(w.times) >= 0)
    assert gap_buckets(np.array([0, 1, 2, 1000])).tolist() == [2, 3, 4, 12]


@pytest.mark.parametrize("name", ["sasrec_ce", "forecaster"])
def test_fit_predict_shapes_and_report(name: str, data: SequenceData) -> None:
    split = leave_one_out(data)
    model = create_model(name, **TINY)
    rep = model.fit(split.train, split.valid, seed=0, progress=False)
    assert rep.model == name and 1 <= rep.best_epoch <= rep.epochs_run <= 2
    assert rep.best_valid_ndcg10 is not None and 0 <= rep.best_valid_ndcg10 <= 1
    scores = model.full_sort_predict(split.test.histories[:7])
    assert scores.shape == (7, data.n_items + 1) and scores.dtype == np.float32
    assert np.all(np.isneginf(scores[:, 0])) and np.all(np.isfinite(scores[:, 1:]))


def test_seeded_determinism_and_checkpoint_round_trip(data: SequenceData, tmp_path: Path) -> None:
    split = leave_one_out(data)
    a = Forecaster(**TINY)
    a.fit(split.train, split.valid, seed=3, progress=False)
    b = Forecaster(**TINY)
    b.fit(split.train, split.valid, seed=3, progress=False)
    hs = split.test.histories
    sa = a.full_sort_predict(hs)
    np.testing.assert_array_equal(sa, b.full_sort_predict(hs))
    c = Forecaster(**TINY)
    c.fit(split.train, split.valid, seed=4, progress=False)
    assert not np.array_equal(sa, c.full_sort_predict(hs))
    a.save(tmp_path / "f.pt")
    loaded = Forecaster.load(tmp_path / "f.pt")
    np.testing.assert_array_equal(sa, loaded.full_sort_predict(hs))
    np.testing.assert_array_equal(a.forecast_mix(hs), loaded.forecast_mix(hs))
    with pytest.raises(ValueError, match="not 'sasrec_ce'"):
        SASRecCE.load(tmp_path / "f.pt")


def test_forecaster_id_only_and_sampled_softmax(data: SequenceData) -> None:
    data.item_text_emb = None
    split = leave_one_out(data)
    m = Forecaster(**{**TINY, "epochs": 1, "loss": "sampled", "n_negatives": 16, "use_time": False})
    m.fit(split.train, None, seed=0, progress=False)
    mix = m.forecast_mix(split.test.histories[:5])
    assert mix.shape == (5, data.n_categories)
    np.testing.assert_allclose(mix.sum(axis=1), 1.0, atol=1e-5)


def test_config_keys_checked() -> None:
    m = create_model("forecaster", epochs=3, hidden=32)
    assert m.cfg.train.epochs == 3 and m.cfg.hidden == 32
    with pytest.raises(ValueError, match="unknown config keys"):
        create_model("sasrec_ce", bogus=1)


def test_sasrec_defaults_are_the_reference_recipe() -> None:
    """SASRec+ reference (Klenitskiy & Vasilev 2023, their code): 1 head, dropout 0.1 incl. attention, ReLU, the
    SASRec block, N(0, 0.02) on every embedding and linear, last max_len + 1 events per user, shuffled batches."""
    import torch

    from evorec.tools.models.sasrec_ce import CausalBlock, SASRecNet

    m = SASRecCE()
    c, t = m.cfg, m.cfg.train
    assert (c.hidden, c.blocks, c.heads, c.dropout, c.attn_dropout, c.activation, c.layout, c.positions) == \
        (64, 2, 1, 0.1, 0.1, "relu", "sasrec", "from_start")
    assert (t.max_len, t.batch_size, t.lr, t.patience, t.epochs, t.windows, t.batching) == \
        (200, 128, 1e-3, 10, 100, "last", "shuffle")
    torch.manual_seed(0)
    net = SASRecNet(3000, c)
    assert net.pos_emb.weight.std().item() == pytest.approx(0.02, rel=0.1)  # was N(0, 1): position dominated
    assert net.item_emb.weight[1:].std().item() == pytest.approx(0.02, rel=0.05)
    assert float(net.item_emb.weight[0].detach().abs().sum()) == 0.0
    blk = net.blocks[0]
    assert isinstance(blk, CausalBlock)
    for lin in (blk.proj, blk.ff[0], blk.ff[3]):
        assert lin.weight.detach().std().item() == pytest.approx(0.02, rel=0.2)
        assert float(lin.bias.detach().abs().sum()) == 0.0
    assert isinstance(blk.ff[1], torch.nn.ReLU)


def test_reference_block_layout_uses_raw_keys_and_normed_query() -> None:
    """The SASRec block: out = LN1(x) + Attn(q=LN1(x), k=v=x); then LN2 and a residual feed-forward."""
    import torch
    import torch.nn.functional as F

    from evorec.tools.models.sasrec_ce import CausalBlock, SASRecConfig

    cfg = SASRecConfig(hidden=8, dropout=0.0, attn_dropout=0.0)
    blk = CausalBlock(cfg).eval()
    x = torch.randn(2, 5, 8) * 3 + 1
    mask = torch.ones(5, 5, dtype=torch.bool).tril()[None, None]
    q_in = blk.ln1(x)
    wq, wk, wv = blk.qkv.weight.chunk(3)
    bq, bk, bv = blk.qkv.bias.chunk(3)
    att = F.scaled_dot_product_attention(F.linear(q_in, wq, bq)[:, None], F.linear(x, wk, bk)[:, None],
                                         F.linear(x, wv, bv)[:, None], attn_mask=mask)[:, 0]
    h = blk.ln2(q_in + blk.proj(att))
    want = h + blk.ff(h)
    torch.testing.assert_close(blk(x, mask), want)
    pre = CausalBlock(cfg.model_copy(update={"layout": "pre_ln"})).eval()
    pre.load_state_dict(blk.state_dict())
    assert not torch.allclose(pre(x, mask), want)


def test_last_window_only_and_positions_from_the_first_event() -> None:
    import torch

    from evorec.tools.models.sasrec_ce import SASRecConfig, SASRecNet

    h = History(np.arange(1, 12), np.arange(11))
    assert [len(w.items) for w in make_windows([h], max_len=4, last_only=True)] == [4]
    assert [len(w.items) for w in make_windows([h], max_len=4)] == [4, 4, 2]
    net = SASRecNet(20, SASRecConfig(hidden=8, train={"max_len": 6}))
    items = torch.tensor([[0, 0, 3, 4, 5], [1, 2, 3, 4, 5]])
    assert net.position_ids(items).tolist() == [[0, 0, 0, 1, 2], [0, 1, 2, 3, 4]]
    end = SASRecNet(20, SASRecConfig(hidden=8, positions="from_end", train={"max_len": 6}))
    assert end.position_ids(items).tolist() == [1, 2, 3, 4, 5]


def test_checkpoint_without_block_options_loads_with_the_old_behaviour(data: SequenceData, tmp_path: Path) -> None:
    import torch

    split = leave_one_out(data)
    old = {**TINY, "activation": "gelu", "layout": "pre_ln", "init": "torch", "positions": "from_end",
           "ln_eps": 1e-5}
    m = SASRecCE(**old)
    m.fit(split.train, None, seed=0, progress=False)
    m.save(tmp_path / "s.pt")
    blob = torch.load(tmp_path / "s.pt", weights_only=False)
    for k in ("activation", "layout", "init", "positions", "ln_eps"):
        del blob["config"][k]  # what a checkpoint written before these options holds
    torch.save(blob, tmp_path / "old.pt")
    loaded = SASRecCE.load(tmp_path / "old.pt")
    assert loaded.cfg.layout == "pre_ln" and loaded.cfg.positions == "from_end"
    hs = split.test.histories[:5]
    np.testing.assert_array_equal(m.full_sort_predict(hs), loaded.full_sort_predict(hs))
