"""The evaluation runner end to end on the small synthetic dataset (real models, real files)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from evorec.errors import InvalidRequestError
from evorec.evals.results import EvalConfig, EvalResult
from evorec.evals.runner import run_eval
from evorec.settings import Settings

FAST = ["pop", "recent_pop", "itemknn", "markov"]


def _cfg(synthetic_dir: Path, out: Path, **kw) -> EvalConfig:
    return EvalConfig(dataset="synthetic", path=synthetic_dir, out_dir=out, models=kw.pop("models", FAST), **kw)


def test_run_writes_report_and_is_seed_deterministic(synthetic_dir: Path, tmp_path: Path,
                                                      tmp_settings: Settings) -> None:
    seen_partial: list[bool] = []
    a = run_eval(_cfg(synthetic_dir, tmp_path, run_name="a", seed=3), tmp_settings, progress=False,
                 on_model_done=lambda m: seen_partial.append((tmp_path / "a" / "metrics.partial.json").is_file()))
    assert seen_partial == [True] * len(FAST)  # each finished model is on disk before the run ends
    assert not (tmp_path / "a" / "metrics.partial.json").exists()
    b = run_eval(_cfg(synthetic_dir, tmp_path, run_name="b", seed=3), tmp_settings, progress=False)
    assert [m.metrics for m in a.models] == [m.metrics for m in b.models]
    run = tmp_path / "a"
    assert {p.name for p in run.iterdir()} >= {"metrics.json", "report.md", "metrics.png",
                                               "ndcg10_by_history_length.png"}
    loaded = EvalResult.model_validate_json((run / "metrics.json").read_text())
    assert [m.name for m in loaded.models] == FAST
    assert loaded.dataset.n_users == 60 and loaded.split["test_cases"] == 60
    for m in loaded.models:
        assert set(m.metrics) >= {"HR@5", "NDCG@10", "HR@20", "MRR", "Coverage@10", "Novelty@10"}
        assert sum(b.n for b in m.by_history_length) == m.n_cases == 60
        assert m.metrics["HR@5"] <= m.metrics["HR@10"] <= m.metrics["HR@20"]
    report = (run / "report.md").read_text()
    best = max(loaded.models, key=lambda m: m.metrics["NDCG@10"])
    assert f"**{best.metrics['NDCG@10']:.4f}**" in report
    assert '"seed": 3' in report and "fit (s)" in report and "numpy" in report


def test_several_seeds_mean_sd_ranks_and_intervals(synthetic_dir: Path, tmp_path: Path,
                                                   tmp_settings: Settings) -> None:
    import numpy as np

    tiny = {"epochs": 2, "hidden": 16, "blocks": 1, "max_len": 30}
    res = run_eval(_cfg(synthetic_dir, tmp_path, models=["pop", "markov", "sasrec_ce"], seeds=[0, 1], run_name="s",
                        n_boot=200, overrides={"sasrec_ce": tiny}), tmp_settings, progress=False)
    assert res.seeds == [0, 1]
    sas = res.model("sasrec_ce")
    assert [r.seed for r in sas.runs] == [0, 1]
    per_seed = [r.metrics["NDCG@10"] for r in sas.runs]
    assert per_seed[0] != per_seed[1]  # the seed reaches the torch model
    assert sas.metrics["NDCG@10"] == pytest.approx(np.mean(per_seed))
    assert sas.metrics_sd["NDCG@10"] == pytest.approx(np.std(per_seed, ddof=1))
    assert res.model("pop").metrics_sd["NDCG@10"] == 0.0  # deterministic model, same numbers per seed
    assert all(r.peak_rss_mb and r.peak_rss_mb > 10 for r in sas.runs)
    ranks = np.load(tmp_path / "s" / "ranks.npz")
    assert {"user_ids", "targets", "pop/seed0", "sasrec_ce/seed1"} <= set(ranks.files)
    assert len(ranks["sasrec_ce/seed0"]) == sas.n_cases
    iv = res.interval("markov", "pop")
    gains = {n: np.mean([np.where(ranks[f"{n}/seed{s}"] <= 10, 1 / np.log2(ranks[f"{n}/seed{s}"] + 1.0), 0)
                         for s in (0, 1)], axis=0) for n in ("markov", "pop")}
    assert iv.ratio == pytest.approx(gains["markov"].mean() / gains["pop"].mean())
    assert iv.lo <= iv.ratio <= iv.hi
    assert len(res.intervals) == 6
    report = (tmp_path / "s" / "report.md").read_text()
    assert "seeds 0, 1" in report and " ± " in report and "Paired comparisons" in report


def test_combining_single_seed_runs_equals_one_several_seed_run(synthetic_dir: Path, tmp_path: Path,
                                                                 tmp_settings: Settings) -> None:
    from evorec.evals.combine import combine_runs

    models = ["pop", "markov", "sasrec_ce"]
    tiny = {"sasrec_ce": {"epochs": 1, "hidden": 16, "blocks": 1, "max_len": 20}}
    both = run_eval(_cfg(synthetic_dir, tmp_path, models=models, seeds=[0, 1], run_name="both", n_boot=200,
                         overrides=tiny, plots=False), tmp_settings, progress=False)
    for s in (0, 1):
        run_eval(_cfg(synthetic_dir, tmp_path, models=models, seeds=[s], run_name=f"s{s}", n_boot=200,
                      overrides=tiny, plots=False), tmp_settings, progress=False)
    comb = combine_runs([tmp_path / "s0", tmp_path / "s1"], tmp_path / "comb")
    assert comb.seeds == [0, 1]
    for a, b in zip(both.models, comb.models, strict=True):
        assert a.metrics == b.metrics and a.metrics_sd == b.metrics_sd
        assert a.by_history_length == b.by_history_length
    assert [(r.a, r.b, r.ratio, r.lo, r.hi) for r in both.intervals] == \
        [(r.a, r.b, r.ratio, r.lo, r.hi) for r in comb.intervals]
    with pytest.raises(InvalidRequestError, match="seed repeats"):
        combine_runs([tmp_path / "s0", tmp_path / "both"], tmp_path / "bad")


def test_joining_runs_puts_variants_side_by_side_with_paired_intervals(synthetic_dir: Path, tmp_path: Path,
                                                                        tmp_settings: Settings) -> None:
    import numpy as np

    from evorec.evals.combine import join_runs

    base = run_eval(_cfg(synthetic_dir, tmp_path, models=["pop", "markov"], seeds=[0], run_name="base", n_boot=200,
                         plots=False), tmp_settings, progress=False)
    run_eval(_cfg(synthetic_dir, tmp_path, models=["markov"], seeds=[0], run_name="variant", n_boot=200,
                  plots=False, overrides={"markov": {"alpha": 5.0}}), tmp_settings, progress=False)
    joined = join_runs([(tmp_path / "base", None), (tmp_path / "variant", "markov_a5")], tmp_path / "joined")
    assert [m.name for m in joined.models] == ["pop", "markov", "markov_a5"]
    assert joined.model("markov").metrics == base.model("markov").metrics
    iv = joined.interval("markov_a5", "pop")
    assert iv.lo <= iv.ratio <= iv.hi
    ranks = np.load(tmp_path / "joined" / "ranks.npz")
    assert {"pop/seed0", "markov/seed0", "markov_a5/seed0"} <= set(ranks.files)
    with pytest.raises(InvalidRequestError, match="both called 'markov'"):
        join_runs([(tmp_path / "base", None), (tmp_path / "variant", None)], tmp_path / "bad")
    run_eval(_cfg(synthetic_dir, tmp_path, models=["pop"], seeds=[1], run_name="s1", n_boot=200, plots=False),
             tmp_settings, progress=False)
    with pytest.raises(InvalidRequestError, match="seeds"):
        join_runs([(tmp_path / "base", None), (tmp_path / "s1", "pop1")], tmp_path / "bad2")


def test_temporal_protocol_and_custom_ks(synthetic_dir: Path, tmp_path: Path, tmp_settings: Settings) -> None:
    res = run_eval(_cfg(synthetic_dir, tmp_path, models=["pop", "markov"], protocol="temporal", ks=[3, 1],
                        plots=False, cutoff_quantile=0.8), tmp_settings, progress=False, write=False)
    assert res.config.ks == [1, 3]
    assert set(res.models[0].metrics) >= {"HR@1", "HR@3", "NDCG@3", "MRR"}
    assert res.split["cutoff_ts"] > 0 and res.models[0].n_cases == res.split["test_cases"]


def test_unknown_model_and_bad_config(synthetic_dir: Path, tmp_path: Path, tmp_settings: Settings) -> None:
    with pytest.raises(InvalidRequestError, match=r"unknown model\(s\) nope; available: .*itemknn.*pop"):
        run_eval(_cfg(synthetic_dir, tmp_path, models=["pop", "nope"]), tmp_settings, progress=False)
    with pytest.raises(InvalidRequestError, match="bad config for model markov"):
        run_eval(_cfg(synthetic_dir, tmp_path, models=["markov"], overrides={"markov": {"alpha": -1}}),
                 tmp_settings, progress=False, write=False)


def test_torch_models_and_category_mix(synthetic_dir: Path, tmp_path: Path, tmp_settings: Settings) -> None:
    tiny = {"epochs": 2, "hidden": 16, "blocks": 1, "max_len": 50}
    cfg = _cfg(synthetic_dir, tmp_path, models=["pop", "sasrec_ce", "forecaster"], text=False, run_name="t",
               overrides={"sasrec_ce": tiny, "forecaster": tiny}, seed=1)
    a = run_eval(cfg, tmp_settings, progress=False)
    assert a.mix is not None and set(a.mix.methods) == {"forecaster", "forecaster_head", "forecaster_recency",
                                                   "last_window", "all_time"}
    assert {(d.b, d.metric) for d in a.mix.diff_intervals} == {(b, m) for b in ("last_window", "all_time")
                                                              for m in ("KL", "JS")}
    assert all(d.lo <= d.diff <= d.hi for d in a.mix.diff_intervals) and len(a.mix.blends) == 1
    assert a.model("sasrec_ce").fit.epochs_run == 2
    report = (tmp_path / "t" / "report.md").read_text()
    assert "category-mix forecast" in report and "Forecaster minus naive divergence" in report
    assert (tmp_path / "t" / "category_mix.png").is_file()
    b = run_eval(cfg.model_copy(update={"mix_eval": False}), tmp_settings, progress=False, write=False)
    assert [m.metrics for m in a.models] == [m.metrics for m in b.models]  # same seed, same numbers on CPU


def _cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str) -> int:
    """Run ``evorec`` in-process through its real entry point (error handling included); returns the exit code."""
    from evorec.serving.cli.main import main
    from evorec.settings import get_settings

    monkeypatch.setenv("EVOREC_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    monkeypatch.setattr(sys, "argv", ["evorec", *args])
    try:
        main()
    except SystemExit as e:
        return int(e.code or 0)
    finally:
        get_settings.cache_clear()
    return 0


def test_cli_unknown_model_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code = _cli(monkeypatch, tmp_path, "eval", "--models", "pop,nope")
    err = capsys.readouterr().err
    assert code != 0
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "unknown model(s) nope" in lines[0] and "itemknn" in lines[0]
    assert "Traceback" not in err
    assert _cli(monkeypatch, tmp_path, "eval", "--set", "pop") != 0
    assert "MODEL.KEY=VALUE" in capsys.readouterr().err
    for bad in ("0,x", "1,1"):
        assert _cli(monkeypatch, tmp_path, "eval", "--seeds", bad) != 0
        err = capsys.readouterr().err
        assert "--seeds must be" in err and "Traceback" not in err


def test_cli_runs_and_writes(synthetic_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    code = _cli(monkeypatch, tmp_path, "eval", "--dataset", "synthetic", "--path", str(synthetic_dir), "--models",
                "pop,markov", "--out", str(tmp_path / "runs"), "--name", "cli", "--k", "5,10",
                "--set", "markov.alpha=0.5", "--no-plots", "--seeds", "4,5")
    out = capsys.readouterr()
    assert code == 0, out.err
    data = json.loads((tmp_path / "runs" / "cli" / "metrics.json").read_text())
    assert data["config"]["overrides"] == {"markov": {"alpha": 0.5}}
    assert data["seeds"] == [4, 5] and [r["seed"] for r in data["models"][0]["runs"]] == [4, 5]
    assert data["config"]["ks"] == [5, 10] and "markov" in out.out


def test_fusion_reuses_the_runs_forecaster_only_when_configs_match() -> None:
    from evorec.evals.runner import reuse_forecaster
    from evorec.tools.models import create_model

    fc = create_model("forecaster", epochs=1)
    cfg: dict = {}
    assert reuse_forecaster("fusion", cfg, {"forecaster": fc}) and cfg["fitted_forecaster"] is fc
    assert not reuse_forecaster("fusion", {"forecaster": {"epochs": 5}}, {"forecaster": fc})
    assert reuse_forecaster("fusion", {"forecaster": {"epochs": 1}}, {"forecaster": fc})
    assert not reuse_forecaster("fusion", {}, {}) and not reuse_forecaster("pop", {}, {"forecaster": fc})
