"""The data commands: in-process through the typer app, plus the real entry point for the error contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from evorec.errors import DataFormatError, NotFoundError
from evorec.serving.cli.main import app

runner = CliRunner()


def cli(*args: str, home: Path) -> Result:
    return runner.invoke(app, [*args, "--home", str(home)], env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    h = tmp_path_factory.mktemp("cli-home")
    gen = cli("data", "generate", "--users", "30", "--items", "60", "--seed", "3", home=h)
    assert gen.exit_code == 0, gen.output
    ing = cli("ingest", "--dataset", "synthetic", "--no-progress", home=h)
    assert ing.exit_code == 0, ing.output
    return h


def test_ingest_history_search_info(home: Path) -> None:
    truth = json.loads((home / "data" / "synthetic" / "drifts.json").read_text())
    assert truth["seed"] == 3 and len(truth["drifts"]) == 30  # ingest used the generated data as it is
    user = truth["drifts"][0]["user_id"]
    h = cli("history", user, "--limit", "4", "--json", home=home)
    assert h.exit_code == 0, h.output
    body = json.loads(h.stdout)
    assert body["known"] and len(body["events"]) == 4 and body["total_events"] == truth["drifts"][0]["n_events"]
    table = cli("history", user, "--limit", "4", home=home)
    assert table.exit_code == 0 and body["events"][-1]["title"] in table.stdout
    q = cli("history", user, "--query", "a detective solving a murder", "--k", "3", "--json", home=home)
    assert q.exit_code == 0 and len(json.loads(q.stdout)["events"]) == 3
    by = cli("history", user, "--by", "month", "--json", home=home)
    assert by.exit_code == 0 and sum(json.loads(by.stdout)["totals"]) == truth["drifts"][0]["n_events"]
    assert cli("history", user, "--by", "week", home=home).exit_code == 0
    s = cli("items", "search", "haunted asylum ghosts", "--k", "2", "--json", home=home)
    assert s.exit_code == 0 and all("Horror" in hit["categories"] for hit in json.loads(s.stdout))
    facts = json.loads(cli("info", "--json", home=home).stdout)
    assert [d["dataset"] for d in facts["datasets"]] == ["synthetic"] and facts["datasets"][0]["complete"]
    assert facts["datasets"][0]["events"] == sum(d["n_events"] for d in truth["drifts"])


def test_errors_raise_evorec_errors(home: Path) -> None:
    r = cli("history", "nobody", home=home)
    assert r.exit_code == 1 and "no history" in r.output
    r = cli("history", "u1", "--dataset", "ml-100k", home=home)
    assert isinstance(r.exception, NotFoundError) and "evorec ingest --dataset ml-100k" in str(r.exception)
    r = cli("ingest", "--dataset", "csv", "--path", str(home / "missing"), home=home)
    assert isinstance(r.exception, DataFormatError) and "dataset directory not found" in str(r.exception)


def test_entry_point_prints_one_line_and_exits_non_zero(tmp_path: Path) -> None:
    env = {**os.environ, "EVOREC_HOME": str(tmp_path), "OPENBLAS_NUM_THREADS": "1"}
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "items.csv").write_text("item_id,title\na,A\n")
    (bad / "interactions.csv").write_text("user_id,item_id,timestamp\n1,a,noon\n")
    r = subprocess.run([sys.executable, "-m", "evorec.serving.cli.main", "ingest", "--dataset", "csv", "--path",
                        str(bad)], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert f"{bad / 'interactions.csv'}:2: timestamp 'noon' is not a number" in " ".join(r.stderr.split())
