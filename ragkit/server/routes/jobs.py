"""``GET /jobs`` and ``GET /jobs/{id}``: the write jobs' state, progress and results. A job shows only
to the principal that submitted it, or to one reading everything."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ragkit.server import auth
from ragkit.server.errors import ApiError
from ragkit.server.jobs import Job
from ragkit.server.state import ServerState


def sees_job(request: Request, job: Job) -> bool:
    """A job (its paths, results, errors) shows only to who submitted it, or to who reads everything."""
    who = auth.principal_of(request)
    return who.everything or job.owner == who.key()


def router(state: ServerState) -> APIRouter:
    api = APIRouter()

    @api.get("/jobs")
    def jobs(request: Request) -> list[dict[str, Any]]:
        """Recent write jobs of this token's principal, oldest first."""
        return [j.to_dict() for j in state.jobs.list() if sees_job(request, j)]

    @api.get("/jobs/{job_id}")
    def job(job_id: str, request: Request) -> dict[str, Any]:
        """A job's status (queued | running | done | failed), progress per stage and result."""
        found = state.jobs.get(job_id)
        if found is None or not sees_job(request, found):
            raise ApiError(404, f"no job {job_id!r}")
        return found.to_dict()

    return api
