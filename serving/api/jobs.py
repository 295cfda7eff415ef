"""Retraining as a background job in its own process (forecaster, then fusion), so serving never blocks.

The job trains on the dataset plus what the history store learned since ingest (events added through
``/v1/events``, users forgotten): this process, which owns the store, writes that difference to
``HOME/jobs/inputs/<job>.delta.json`` and the job reads it (``evorec train --delta``), so an embedded Chroma
directory is never opened by two processes. Job records are JSON files under ``HOME/jobs/`` so any worker
can report any job's status. When a job succeeds, the serving engines are reopened on the new artifacts.
"""

from __future__ import annotations

import collections
import logging
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from evorec.errors import EvorecError, NotFoundError
from evorec.serving.api.engines import Engines
from evorec.serving.api.protocol import RetrainJob, RetrainRequest
from evorec.settings import Settings

log = logging.getLogger("evorec.api")

LOG_TAIL = 40


class JobConflictError(EvorecError):
    http_status = 409


def train_command(dataset: str, req: RetrainRequest, delta: Path) -> list[str]:
    cmd = [sys.executable, "-m", "evorec.serving.cli.main", "train", "--json", "--dataset", dataset,
           "--delta", str(delta), "--seed", str(req.seed)]
    if req.epochs is not None:
        cmd += ["--epochs", str(req.epochs)]
    return cmd


class RetrainJobs:
    def __init__(self, settings: Settings, services: Engines) -> None:
        self.settings = settings
        self.services = services
        self.dir = settings.home / "jobs"
        self._lock = threading.Lock()
        self._running: str | None = None

    def _path(self, job_id: str) -> Path:
        return self.dir / f"{job_id}.json"

    def _delta_path(self, job_id: str) -> Path:
        return self.dir / "inputs" / f"{job_id}.delta.json"

    def _write_delta(self, dataset: str, path: Path) -> int:
        """The store's difference from the dataset files, taken now through this process's store; returns how
        many added events it holds."""
        if dataset == self.settings.dataset:
            return self.services.toolbox.write_training_delta(path)
        from evorec.tools import write_store_delta

        return write_store_delta(self.settings, dataset, path)

    def _save(self, job: RetrainJob) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self._path(job.job_id).with_suffix(".tmp")
        tmp.write_text(job.model_dump_json(indent=1))
        tmp.replace(self._path(job.job_id))

    def get(self, job_id: str) -> RetrainJob:
        path = self._path(job_id)
        if not job_id.replace("-", "").isalnum() or not path.is_file():
            raise NotFoundError(f"no retrain job {job_id!r}")
        return RetrainJob.model_validate_json(path.read_text())

    def list(self) -> list[RetrainJob]:
        if not self.dir.is_dir():
            return []
        jobs = [RetrainJob.model_validate_json(p.read_text()) for p in self.dir.glob("*.json")]
        return sorted(jobs, key=lambda j: j.created_at, reverse=True)

    def start(self, req: RetrainRequest) -> RetrainJob:
        dataset = req.dataset or self.settings.dataset
        with self._lock:
            if self._running is not None:
                raise JobConflictError(f"retrain job {self._running} is still running; one at a time")
            job_id = "job-" + uuid.uuid4().hex[:12]
            job = RetrainJob(job_id=job_id, state="queued", dataset=dataset,
                             command=train_command(dataset, req, self._delta_path(job_id)), created_at=time.time())
            self._running = job.job_id
            self._save(job)
        threading.Thread(target=self._run, args=(job,), name=f"retrain-{job.job_id}", daemon=True).start()
        return job

    def _run(self, job: RetrainJob) -> None:
        tail: collections.deque[str] = collections.deque(maxlen=LOG_TAIL)
        job = job.model_copy(update={"state": "running", "started_at": time.time()})
        self._save(job)
        delta = self._delta_path(job.job_id)
        try:
            added = self._write_delta(job.dataset, delta)
            tail.append(f"training data: the dataset files plus {added} events added to the store since ingest")
            env = {**__import__("os").environ, "EVOREC_HOME": str(self.settings.home)}
            with subprocess.Popen(job.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  env=env) as proc:
                assert proc.stdout is not None
                for line in proc.stdout:
                    tail.append(line.rstrip()[:300])
                rc = proc.wait()
            reloaded = False
            if rc == 0 and job.dataset == self.settings.dataset:
                self.services.reload()
                reloaded = True
            job = job.model_copy(update={"state": "succeeded" if rc == 0 else "failed", "returncode": rc,
                                         "reloaded": reloaded})
        except EvorecError as e:  # e.g. the dataset cannot be loaded: the job fails with the one-line reason
            tail.append(f"error: {e}")
            job = job.model_copy(update={"state": "failed"})
        except Exception as e:  # a job failure is a job state, never a server crash
            log.exception("retrain job %s failed", job.job_id)
            tail.append(f"{type(e).__name__}: {e}")
            job = job.model_copy(update={"state": "failed"})
        finally:
            delta.unlink(missing_ok=True)
            job = job.model_copy(update={"finished_at": time.time(), "log_tail": list(tail)})
            self._save(job)
            with self._lock:
                self._running = None
