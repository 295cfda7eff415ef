"""A real ``evorec serve`` process on loopback, for benchmarks and end-to-end tests.

``LiveServer`` starts the CLI in a subprocess (own process group), waits until
``/healthz`` answers, and stops it; ``kill()`` is a ``kill -9`` for crash tests.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from evorec.errors import EvorecError


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, env: dict[str, str], port: int | None = None, workers: int = 1, log_path: Path | None = None,
                 extra_args: list[str] | None = None, ready_timeout_s: float = 180.0) -> None:
        self.env = {**os.environ, **env}
        self.env.setdefault("HF_HUB_OFFLINE", "1")
        self.env.setdefault("TOKENIZERS_PARALLELISM", "false")
        self.env.setdefault("ANONYMIZED_TELEMETRY", "False")
        self.port = port or free_port()
        self.workers = workers
        self.log_path = log_path
        self.extra_args = extra_args or []
        self.ready_timeout_s = ready_timeout_s
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str = "/healthz") -> LiveServer:
        cmd = [sys.executable, "-m", "evorec.serving.cli.main", "serve", "--host", "127.0.0.1", "--port",
               str(self.port), "--workers", str(self.workers), "--log-level", "warning", *self.extra_args]
        out = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EvorecError(f"evorec serve exited with {self.proc.returncode} before it was ready"
                                  + (f" (log: {self.log_path})" if self.log_path else ""))
            try:
                if httpx.get(self.url + ready_path, timeout=2.0).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise EvorecError(f"evorec serve did not answer {ready_path} within {self.ready_timeout_s:.0f} s")

    def kill(self) -> None:
        """``kill -9`` the whole server process group (no cleanup, like a crash)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
