"""Running the API under uvicorn: bind policy, several workers, a Chroma server for them.

- No API keys configured → bind 127.0.0.1 whatever host was asked, and say so.
- ``workers > 1`` → every worker is its own process, and a Chroma ``PersistentClient``
  directory must never be opened by two processes: the store is used through
  ``chroma run`` + ``HttpClient`` (``chroma_mode=http``). With an embedded store configured,
  ``start_chroma=True`` starts ``chroma run`` on the same directory (and stops it after);
  otherwise the request is refused with the two ways out.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from fastapi import FastAPI

from evorec.errors import InvalidRequestError, StoreUnavailableError
from evorec.settings import Settings

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ENV_FIELDS = ("home", "dataset", "chroma_mode", "chroma_path", "chroma_host", "chroma_port", "llm", "llm_url",
              "llm_model", "llm_timeout_s", "device", "threads", "ml100k_path")


def effective_host(settings: Settings, host: str, say: Callable[[str], None]) -> str:
    keys_configured = bool(settings.api_keys.strip()) or bool(settings.admin_key.get_secret_value().strip())
    if not keys_configured and host not in LOOPBACK:
        say(f"no API keys configured (EVOREC_API_KEYS): refusing to listen on {host}; binding 127.0.0.1 only")
        return "127.0.0.1"
    if not keys_configured:
        say("no API keys configured: the API is open, on loopback only (set EVOREC_API_KEYS to expose it)")
    return host


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def wait_for_port(host: str, port: int, timeout_s: float, proc: subprocess.Popen | None = None) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) == 0:
                return True
        time.sleep(0.2)
    return False


@contextlib.contextmanager
def chroma_server(settings: Settings, say: Callable[[str], None]) -> Iterator[Settings]:
    """``chroma run`` on the embedded store's directory; yields settings pointing at it over HTTP."""
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if exe is None:
        raise StoreUnavailableError("the `chroma` command is not installed; cannot share the store between workers")
    host, port = "127.0.0.1", settings.chroma_port
    if not port_free(host, port):
        raise StoreUnavailableError(f"port {port} is taken; set EVOREC_CHROMA_PORT to a free port for the Chroma "
                                    "server, or point EVOREC_CHROMA_MODE=http at the server already there")
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    log = (settings.home / "chroma-server.log").open("ab")
    proc = subprocess.Popen([exe, "run", "--path", str(settings.chroma_dir), "--host", host, "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        if not wait_for_port(host, port, 60, proc):
            raise StoreUnavailableError(f"`chroma run` did not start (see {settings.home / 'chroma-server.log'})")
        say(f"started chroma server on {host}:{port} for {settings.chroma_dir} (pid {proc.pid})")
        yield settings.with_overrides(chroma_mode="http", chroma_host=host, chroma_port=port)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def export_settings(settings: Settings) -> None:
    """Workers are fresh processes that build ``Settings()`` from the environment: put ours there."""
    for name in ENV_FIELDS:
        value = getattr(settings, name)
        env = f"EVOREC_{name.upper()}"
        if value is None:
            os.environ.pop(env, None)
        else:
            os.environ[env] = str(value)


def app_from_env() -> FastAPI:
    """uvicorn factory for worker processes (``--workers > 1``)."""
    from evorec.serving.api.app import create_app

    return create_app(Settings())


def serve(settings: Settings, host: str, port: int, workers: int = 1, start_chroma: bool = False,
          log_level: str = "info", say: Callable[[str], None] = print) -> None:
    import uvicorn

    from evorec.serving.api.app import create_app

    if workers < 1:
        raise InvalidRequestError("--workers must be at least 1")
    host = effective_host(settings, host, say)
    if not port_free(host, port):
        raise InvalidRequestError(f"port {port} on {host} is already in use; choose another with --port")
    with contextlib.ExitStack() as stack:
        if workers > 1 and settings.chroma_mode == "embedded":
            if not start_chroma:
                raise InvalidRequestError(
                    f"--workers {workers} with an embedded Chroma store would open {settings.chroma_dir} from "
                    f"{workers} processes; add --start-chroma (evorec runs `chroma run` on it), or run `chroma run` "
                    "yourself and set EVOREC_CHROMA_MODE=http")
            settings = stack.enter_context(chroma_server(settings, say))
        say(f"evorec API on http://{host}:{port}/  (docs /docs, dataset {settings.dataset}, workers {workers})")
        if workers == 1:
            uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)
            return
        export_settings(settings)
        metrics_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="evorec-metrics-"))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        uvicorn.run("evorec.serving.api.server:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level=log_level)
