"""Error types shared by every layer.

Each carries a one-line, human-readable message. The CLI prints it and exits non-zero;
the HTTP layer maps it to a 4xx/503 JSON body. Never let a traceback reach a user.
"""

from __future__ import annotations


class EvorecError(Exception):
    """Base class: ``str(err)`` is the one line shown to the user."""

    exit_code: int = 2
    http_status: int = 400


class DataFormatError(EvorecError):
    """A data file is unreadable or malformed; names the file, the line and the problem."""

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        self.path, self.problem, self.line = str(path), problem, line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


class InvalidRequestError(EvorecError):
    """The caller asked for something that cannot be done as asked (bad k, bad constraint, ...)."""


class NotFoundError(EvorecError):
    http_status = 404


class ConflictError(EvorecError):
    """The request contradicts what is stored (e.g. an event id owned by another user's record)."""

    http_status = 409


class ArtifactError(EvorecError):
    """Missing, stale or mismatched model artifacts (e.g. a checkpoint trained on another dataset)."""

    http_status = 409


class StoreUnavailableError(EvorecError):
    """The history store (Chroma) cannot be reached."""

    exit_code = 3
    http_status = 503


class LLMUnavailableError(EvorecError):
    """The LLM endpoint is down, slow or returned garbage; callers fall back to the plan-first executor."""

    exit_code = 3
    http_status = 503
