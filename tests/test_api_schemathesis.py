"""Schemathesis against a real ``evorec serve`` with API keys: every operation, retrain included, at least 200
generated requests each, plus the stateful phase that follows the OpenAPI links (retrain → job, events →
history, recommend → interests, forget → history). No request may end in a server error (slow; in CI)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from harness.live_server import LiveServer
from test_api_reliability import prepare_home, server_env

pytestmark = pytest.mark.slow
EXAMPLES = 200


def test_schemathesis_with_a_key_and_stateful_links(tmp_path_factory: pytest.TempPathFactory,
                                                     tmp_path: Path) -> None:
    home = tmp_path_factory.mktemp("schemathesis") / "home"
    prepare_home(home)
    env = server_env(home, EVOREC_API_KEYS="fuzz-any,fuzz-limited:u0001", EVOREC_ADMIN_KEY="fuzz-admin")
    with LiveServer(env, log_path=tmp_path / "server.log") as server:
        cmd = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{server.url}/openapi.json",
               "--checks", "not_a_server_error", "--max-examples", str(EXAMPLES), "--seed", "14",
               "--phases", "examples,coverage,fuzzing,stateful", "--request-timeout", "120",
               "-H", "Authorization: Bearer fuzz-admin",
               "--suppress-health-check", "all", "--workers", "1", "--no-color"]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=3000, cwd=tmp_path)
    out = run.stdout
    print(out[-5000:])
    assert run.returncode == 0, out[-8000:] + run.stderr[-2000:]
    assert "/v1/admin/retrain" in out and "Stateful" in out, out[-3000:]
    total = re.search(r"(\d+) generated", out)
    print(f"schemathesis: {total.group(0) if total else 'see summary above'}; exit code {run.returncode}")
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]
