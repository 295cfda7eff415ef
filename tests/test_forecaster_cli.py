"""`evorec train` and `evorec forecast` end to end on the small synthetic dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evorec.serving.cli.main import app
from evorec.settings import get_settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EVOREC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("EVOREC_THREADS", "1")
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


def test_train_then_forecast_then_fusion_alone(home: Path, synthetic_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["--dataset", "synthetic", "--path", str(synthetic_dir)]
    r = runner.invoke(app, ["train", *args, "--epochs", "1", "--no-text", "--device", "cpu", "--no-fusion"])
    assert r.exit_code == 0, r.output
    assert (home / "artifacts" / "synthetic" / "forecaster" / "manifest.json").is_file()
    assert "not fitted (--no-fusion)" in r.output
    assert not (home / "artifacts" / "synthetic" / "fusion" / "manifest.json").exists()
    png = tmp_path / "mix.png"
    r = runner.invoke(app, ["forecast", "u0001", *args, "--png", str(png), "-k", "4"])
    assert r.exit_code == 0, r.output
    assert "top predicted next items" in r.output and "category mix" in r.output
    assert png.stat().st_size > 1000
    r = runner.invoke(app, ["forecast", "nobody", *args, "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["cold_start"] is True and out["evidence"][0]["id"] == "ev:forecast:mix"
    r = runner.invoke(app, ["train-fusion", *args, "--no-trends"])
    assert r.exit_code == 0, r.output
    assert "fusion holdout NDCG@10" in r.output
    fusion = json.loads((home / "artifacts" / "synthetic" / "fusion" / "manifest.json").read_text())
    assert fusion["use_trends"] is False


def test_train_fits_the_fusion_by_default(home: Path, synthetic_dir: Path) -> None:
    """One command trains everything serving needs: the fusion ranker is refitted on the new forecaster's scores."""
    r = CliRunner().invoke(app, ["train", "--dataset", "synthetic", "--path", str(synthetic_dir), "--epochs", "2",
                                 "--no-text", "--device", "cpu"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    fusion = json.loads((home / "artifacts" / "synthetic" / "fusion" / "manifest.json").read_text())
    forecaster = json.loads((home / "artifacts" / "synthetic" / "forecaster" / "manifest.json").read_text())
    assert fusion["fingerprint"] == forecaster["fingerprint"]
    assert "forecaster valid NDCG@10" in r.output and "fusion holdout NDCG@10" in r.output


def test_forecast_without_artifacts_is_one_clear_error(home: Path, synthetic_dir: Path) -> None:
    r = CliRunner().invoke(app, ["forecast", "u0001", "--dataset", "synthetic", "--path", str(synthetic_dir)])
    assert r.exit_code != 0
    assert "evorec train --dataset synthetic" in str(r.exception)
