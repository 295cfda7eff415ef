"""The LLM's one-time setup as a background job (``evorec demo --install-llm``): real bash subprocesses."""

from __future__ import annotations

import os
import time
from pathlib import Path

from evorec.serving.llm.setup_job import LLMSetupJob, build_script

REPO = Path(__file__).resolve().parent.parent


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "build.sh"
    path.write_text("set -euo pipefail\n" + body)
    return path


def test_the_checkout_script_is_found_and_defaults_to_vllm_only() -> None:
    script = build_script()
    assert script == REPO / "scripts" / "build_llm.sh"
    assert 'BACKENDS=${EVOREC_LLM_BACKENDS:-vllm}' in script.read_text()


def test_a_finished_job_reports_its_last_line_and_sees_venv_and_backends(tmp_path: Path) -> None:
    script = _script(tmp_path, 'echo "venv=$VENV backends=$EVOREC_LLM_BACKENDS"\necho "vllm ready"\n')
    job = LLMSetupJob(tmp_path / "logs" / "setup.log", backends="vllm", venv=tmp_path / "v", script=script)
    result = job.wait()
    assert result.ok and result.last_line == "vllm ready"
    assert f"venv={tmp_path / 'v'} backends=vllm" in result.log.read_text()


def test_a_failed_job_says_why_in_one_line(tmp_path: Path) -> None:
    script = _script(tmp_path, 'echo "installing"\necho "vLLM install failed (log: x)" >&2\nexit 1\n')
    result = LLMSetupJob(tmp_path / "setup.log", script=script).wait()
    assert not result.ok and result.last_line == "vLLM install failed (log: x)"


def test_cancel_stops_the_script_and_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = _script(tmp_path, f"sleep 300 &\necho $! > {pid_file}\nwait\n")
    job = LLMSetupJob(tmp_path / "setup.log", script=script)
    deadline = time.monotonic() + 20
    while not pid_file.is_file() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline, "the script did not start"
        time.sleep(0.05)
    child = int(pid_file.read_text())
    assert job.running()
    job.cancel()
    assert not job.running()
    deadline = time.monotonic() + 10
    while _alive(child):
        assert time.monotonic() < deadline, "the script's child outlived the cancel"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie waiting for its reaper is gone for our purpose.
    stat = Path(f"/proc/{pid}/stat")
    return stat.is_file() and stat.read_text().split(")")[-1].split()[0] != "Z"
