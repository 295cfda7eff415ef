"""Admin routes (admin key): ``POST /v1/admin/retrain`` starts a background training job; status by id."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from evorec.serving.api.auth import Principal, require_admin
from evorec.serving.api.jobs import RetrainJobs
from evorec.serving.api.links import RETRAIN_LINKS
from evorec.serving.api.protocol import RetrainJob, RetrainRequest

router = APIRouter(tags=["admin"])


def get_jobs(request: Request) -> RetrainJobs:
    return request.app.state.jobs


@router.post("/v1/admin/retrain", response_model=RetrainJob, status_code=202,
             responses={202: {"links": RETRAIN_LINKS}, 409: {"description": "A job is already running"}, 401: {},
                        403: {}})
def retrain(req: RetrainRequest | None = None, _: Principal = Depends(require_admin),
            jobs: RetrainJobs = Depends(get_jobs)) -> JSONResponse:
    """Retrain on the current data in a separate process; poll ``GET /v1/admin/jobs/{job_id}``."""
    job = jobs.start(req or RetrainRequest())
    return JSONResponse(job.model_dump(mode="json"), status_code=202,
                        headers={"Location": f"/v1/admin/jobs/{job.job_id}"})


@router.get("/v1/admin/jobs", response_model=list[RetrainJob], responses={401: {}, 403: {}})
def list_jobs(_: Principal = Depends(require_admin), jobs: RetrainJobs = Depends(get_jobs)) -> list[RetrainJob]:
    return jobs.list()


@router.get("/v1/admin/jobs/{job_id}", response_model=RetrainJob, responses={404: {}, 401: {}, 403: {}})
def get_job(job_id: str = Path(max_length=64, pattern=r"^[A-Za-z0-9-]+$"), _: Principal = Depends(require_admin),
            jobs: RetrainJobs = Depends(get_jobs)) -> RetrainJob:
    return jobs.get(job_id)
