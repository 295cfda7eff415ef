"""``evorec trends USER``: table, JSON and PNG from the dataset files (the store path is the same engine)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from evorec.serving.cli.main import app
from evorec.tools.data.synthetic import PlantedDrift

runner = CliRunner()


def test_trends_table_json_and_png(synthetic_dir: Path, synthetic_truth: list[PlantedDrift], tmp_path: Path,
                                   monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EVOREC_HOME", str(tmp_path / "home"))
    user = next(d.user_id for d in synthetic_truth if d.kind == "sudden_switch")
    png = tmp_path / "t.png"
    args = ["trends", user, "--dataset", "synthetic", "--source", "dataset", "--path", str(synthetic_dir)]
    res = runner.invoke(app, [*args, "--png", str(png)])
    assert res.exit_code == 0, res.output
    assert "interest trends" in res.output and f"user {user}" in res.output
    assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0
    data = json.loads(res.output)
    assert data["status"] == "ok" and data["categories"] and data["user_id"] == user


def test_unknown_user_is_insufficient_history_not_a_crash(synthetic_dir: Path, tmp_path: Path,
                                                          monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EVOREC_HOME", str(tmp_path / "home"))
    res = runner.invoke(app, ["trends", "nobody", "--dataset", "synthetic", "--source", "dataset", "--path",
                              str(synthetic_dir)])
    assert res.exit_code == 0 and "insufficient history" in res.output
