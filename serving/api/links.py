"""OpenAPI links between operations: where one answer names what another operation takes.

They document the API's flows (start a retrain, then poll its job; ingest events, then read the history;
forget a user, then check their history) and let a stateful tester (schemathesis) chain calls the way a
client does.
"""

from __future__ import annotations

from typing import Any


def _ref(path: str, method: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def link(path: str, method: str, description: str, **parameters: str) -> dict[str, Any]:
    return {"operationRef": _ref(path, method), "parameters": parameters, "description": description}


USER_HISTORY = "/v1/users/{user_id}/history"
USER_INTERESTS = "/v1/users/{user_id}/interests"

RETRAIN_LINKS = {"JobStatus": link("/v1/admin/jobs/{job_id}", "get", "Poll the job just started.",
                                   job_id="$response.body#/job_id")}
EVENTS_LINKS = {"UserHistory": link(USER_HISTORY, "get", "The history now holds the events.",
                                    user_id="$response.body#/users/0")}
RECOMMEND_LINKS = {"UserInterests": link(USER_INTERESTS, "get", "The trends behind the answer.",
                                         user_id="$request.body#/user_id")}
FORGET_LINKS = {"UserHistory": link(USER_HISTORY, "get", "The forgotten user's history is empty.",
                                    user_id="$response.body#/user_id")}
