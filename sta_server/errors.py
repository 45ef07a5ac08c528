"""Errors raised by every layer; only api/errors.py (and mqtt/) render them."""
from __future__ import annotations

from http import HTTPStatus
from typing import Any


class StaError(Exception):
    """Base of all SensorThings errors: an HTTP status, an OData error code and a message."""

    status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR
    code: str = "InternalError"
    message: str = "Internal server error"
    transient: bool = False  # a condition of the server (retry later), not the request's fault

    def __init__(
        self,
        message: str | None = None,
        *,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        self.message = message or type(self).message
        self.target = target
        self.details = details
        super().__init__(self.message)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target:
            body["target"] = self.target
        if self.details:
            body["details"] = self.details
        return {"error": body}


class InvalidQuery(StaError):
    status = HTTPStatus.BAD_REQUEST
    code = "InvalidQuery"
    message = "The query is not valid"


class InvalidPath(StaError):
    status = HTTPStatus.NOT_FOUND
    code = "InvalidPath"
    message = "No such resource path"


class NotFound(StaError):
    status = HTTPStatus.NOT_FOUND
    code = "NotFound"
    message = "No such entity"


class BadRequest(StaError):
    status = HTTPStatus.BAD_REQUEST
    code = "BadRequest"
    message = "The request is not valid"


class IncompleteEntity(BadRequest):
    code = "IncompleteEntity"
    message = "A mandatory property or link is missing"


class InvalidEntity(BadRequest):
    code = "InvalidEntity"
    message = "The entity is not valid"


class Conflict(StaError):
    status = HTTPStatus.CONFLICT
    code = "Conflict"
    message = "The request conflicts with stored data"


class MethodNotAllowed(StaError):
    status = HTTPStatus.METHOD_NOT_ALLOWED
    code = "MethodNotAllowed"
    message = "This method is not allowed on this resource"


class NotImplemented(StaError):  # noqa: A001 - the OData code name
    status = HTTPStatus.NOT_IMPLEMENTED
    code = "NotImplemented"
    message = "Not implemented"


class ServiceUnavailable(StaError):
    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "ServiceUnavailable"
    message = "The database is not reachable; retry later"
    transient = True


class QueryTimeout(StaError):
    """A statement ran into STA_STATEMENT_TIMEOUT_MS (503; no Retry-After for HTTP, as the same
    query is likely to take as long again). Transient all the same: a write that waited on a lock
    may pass later, so MQTT ingest keeps the message and retries."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "QueryTimeout"
    message = "The query took too long and was cancelled; narrow it ($filter, $top, $expand)"
    transient = True


class Unauthorized(StaError):
    status = HTTPStatus.UNAUTHORIZED
    code = "Unauthorized"
    message = "Authentication is required"


class Forbidden(StaError):
    status = HTTPStatus.FORBIDDEN
    code = "Forbidden"
    message = "Not allowed"
