"""The local LLM's one-time setup (``scripts/build_llm.sh``) as a background job.

``make demo`` on a fresh machine used to run setup → LLM install → model conversion → training → server
start one after another. The LLM install and the model conversion do not depend on the data or the
models, so ``evorec demo --install-llm`` starts them here and trains meanwhile; the chat step then waits
for the job. The script is idempotent: on a set-up machine it only checks and exits in seconds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pydantic import BaseModel, Field

from evorec.errors import LLMUnavailableError


def build_script() -> Path:
    """``scripts/build_llm.sh`` of this source checkout; LLMUnavailableError where evorec is not run from one."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "build_llm.sh"
    if not script.is_file():
        raise LLMUnavailableError(f"the LLM setup script is not here ({script}): run `make llm` in a source checkout")
    return script


class SetupResult(BaseModel):
    ok: bool
    seconds: float = Field(ge=0)
    last_line: str = Field(description="The script's last output line: what it did, or why it failed.")
    log: Path


class LLMSetupJob:
    """``bash scripts/build_llm.sh`` (or ``script``) started now, in its own process group, output to ``log``."""

    def __init__(self, log: Path, backends: str | None = None, venv: Path | None = None,
                 script: Path | None = None) -> None:
        script = script or build_script()
        env = dict(os.environ)
        env["VENV"] = str(venv or Path(sys.prefix))
        if backends:
            env["EVOREC_LLM_BACKENDS"] = backends
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log
        self._start = time.monotonic()
        with log.open("wb") as fh:
            self._proc = subprocess.Popen(["bash", str(script)], stdout=fh, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, env=env, cwd=script.parents[1],
                                          start_new_session=True)

    def running(self) -> bool:
        return self._proc.poll() is None

    def wait(self) -> SetupResult:
        rc = self._proc.wait()
        lines = self.log.read_text(errors="replace").strip().splitlines() if self.log.is_file() else []
        return SetupResult(ok=rc == 0, seconds=round(time.monotonic() - self._start, 1),
                           last_line=lines[-1] if lines else f"exit code {rc}", log=self.log)

    def cancel(self) -> None:
        """Stop the script and its pip/conversion children (a rerun starts the unfinished steps again)."""
        if self._proc.poll() is not None:
            return
        try:
            os.killpg(self._proc.pid, signal.SIGTERM)
            self._proc.wait(timeout=10)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=5)
