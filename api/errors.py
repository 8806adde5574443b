"""The one place that maps errors to HTTP responses.

Services raise plain exceptions (the ones below, ``pipeline.errors``, ``pipeline.claim.InvalidTransition``,
``pipeline.sync`` callback errors); ``install_error_handlers(app)`` turns each into ``{"detail": message,
"code": code}`` with the status in ``STATUS``. A class not listed falls back to its nearest listed base class.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm.exc import StaleDataError

from api.workers import JobBackendUnavailable
from pipeline import errors as pipeline_errors
from pipeline.claim import InvalidTransition
from pipeline.sync.base import CallbackInvalid, CallbackRejected


class ServiceError(Exception):
    code = "error"


class NotFound(ServiceError):
    code = "not_found"


class Conflict(ServiceError):
    """The request contradicts the current state (invoice already on a claim, OA id mismatch)."""

    code = "conflict"


class InvalidRequest(ServiceError):
    code = "invalid_request"


class ClaimBlocked(ServiceError):
    """The claim has blocking findings, so it cannot be submitted."""

    code = "claim_blocked"


class NotConfigured(ServiceError):
    code = "not_configured"


STATUS: dict[type[Exception], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidTransition: 409,
    StaleDataError: 409,  # a concurrent request changed the claim first
    InvalidRequest: 422,
    ClaimBlocked: 422,
    NotConfigured: 503,
    JobBackendUnavailable: 503,
    CallbackRejected: 401,
    CallbackInvalid: 422,
    pipeline_errors.PipelineError: 422,
    pipeline_errors.DocumentTooLarge: 413,
    pipeline_errors.UnsupportedDocument: 415,
    pipeline_errors.CorruptDocument: 422,
    pipeline_errors.UnreadableImage: 422,
    pipeline_errors.BackendUnavailable: 503,
}

def install_error_handlers(app: FastAPI) -> None:
    for exc_type, status in STATUS.items():
        def handler(_request: Request, exc: Exception, status: int = status) -> JSONResponse:
            return JSONResponse({"detail": str(exc), "code": getattr(exc, "code", "error")}, status_code=status)

        app.add_exception_handler(exc_type, handler)
