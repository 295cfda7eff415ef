"""benchmarks/gpu/eval_job.py: `evorec eval` for hosts without the serving stack (a lent GPU machine)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

JOB = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu" / "eval_job.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(JOB), *args], capture_output=True, text=True, timeout=120)


def test_same_options_as_evorec_eval_and_one_line_errors() -> None:
    ok = _run("--list-models")
    assert ok.returncode == 0 and {"sasrec_ce", "forecaster", "fusion"} <= set(ok.stdout.split())
    bad = _run("--models", "nope")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == ["error: unknown model(s) nope; available: forecaster, fusion, itemknn, "
                                               "markov, pop, recent_pop, sasrec_ce"]


def test_it_does_not_import_the_serving_stack() -> None:
    """The GPU image has torch and the data stack but not openai, chromadb, fastapi: importing them would fail."""
    code = ("import runpy, sys; sys.argv = ['x', '--list-models']\n"
            f"try:\n    runpy.run_path({str(JOB)!r}, run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "heavy = [m for m in ('openai', 'chromadb', 'fastapi', 'uvicorn', 'sentence_transformers') "
            "if m in sys.modules]\nprint(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
