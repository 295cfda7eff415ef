"""Schemathesis against a real ``evorec serve`` with API keys: every operation, retrain included, at least 200
generated requests each, plus the stateful phase that follows the OpenAPI links (retrain → job, events →
history, recommend → interests, forget → history). No request may end in a server error (slow; in CI)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from harness.live_server import LiveServer
from test_api_reliability import prepare_home, server_env

pytestmark = pytest.mark.slow
EXAMPLES = 200


@pytest.mark.timeout(1200)  # CI's per-test limit for slow tests
def test_schemathesis_with_a_key_and_stateful_links(tmp_path_factory: pytest.TempPathFactory,
                                                     tmp_path: Path) -> None:
    """The report is written to ``schemathesis.txt`` in the test's tmp dir as the run goes."""
    home = tmp_path_factory.mktemp("schemathesis") / "home"
    prepare_home(home)
    env = server_env(home, EVOREC_API_KEYS="fuzz-any,fuzz-limited:u0001", EVOREC_ADMIN_KEY="fuzz-admin")
    with LiveServer(env, log_path=tmp_path / "server.log") as server:
        cmd = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{server.url}/openapi.json",
               "--checks", "not_a_server_error", "--max-examples", str(EXAMPLES), "--seed", "14",
               "--phases", "examples,coverage,fuzzing,stateful", "--request-timeout", "120",
               "-H", "Authorization: Bearer fuzz-admin",
               "--suppress-health-check", "all", "--workers", "1", "--no-color"]
        report = tmp_path / "schemathesis.txt"
        with report.open("w") as sink:
            run = subprocess.run(cmd, stdout=sink, stderr=subprocess.STDOUT, text=True, timeout=1100, cwd=tmp_path)
        admin = {"Authorization": "Bearer fuzz-admin"}
        operations = {(m.upper(), path) for path, ops in httpx.get(f"{server.url}/openapi.json").json()["paths"].items()
                      for m in ops}
        metrics = httpx.get(f"{server.url}/metrics", headers=admin).text
    out = report.read_text(errors="replace")
    print(out[-5000:])
    assert run.returncode == 0, out[-8000:]
    assert "Stateful" in out and f"Tested: {len(operations)}" in out, out[-3000:]
    # What the server itself counted (schemathesis prints no per-operation list when all pass): every
    # operation was reached, and retrain was accepted under the admin key (not only refused).
    reached = {(m, route) for m, route, n in
               re.findall(r'evorec_http_requests_total\{method="(\w+)",route="([^"]+)",status="\d+"\} (\S+)', metrics)
               if float(n) > 0}
    assert operations <= reached, f"never reached: {sorted(operations - reached)}"
    assert re.search(r'evorec_http_requests_total\{method="POST",route="/v1/admin/retrain",status="20\d"\} [1-9]',
                     metrics), [line for line in metrics.splitlines() if "retrain" in line]
    total = re.search(r"(\d+) generated", out)
    print(f"schemathesis: {total.group(0) if total else 'see summary above'}; exit code {run.returncode}")
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]
