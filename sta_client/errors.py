"""Typed errors: each carries the HTTP status and the server's OData error (`{"error": {"code",
"message", "target"}}`) as it came, so callers can tell a refused body from a missing entity from an
outage without reading strings."""
from __future__ import annotations

from typing import Any, ClassVar


class StaError(Exception):
    """An answer of the server that is not a success, or no answer at all (`TransportError`)."""

    retryable: ClassVar[bool] = False

    def __init__(self, status: int, code: str, message: str, target: str | None = None, body: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}" + (f" ({target})" if target else ""))
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.body = body


class ClientError(StaError):
    """A 4xx: the request is wrong (never retried)."""


class BadRequest(ClientError):
    """400"""


class Unauthorized(ClientError):
    """401: no or wrong credentials."""


class Forbidden(ClientError):
    """403: authenticated, but not allowed."""


class NotFound(ClientError):
    """404"""


class Conflict(ClientError):
    """409: e.g. an idempotency key reused for another request."""


class PayloadTooLarge(ClientError):
    """413"""


class TooManyRequests(ClientError):
    """429 (retried with back-off; raised once the retry budget is spent)."""

    retryable = True


class ServerError(StaError):
    """5xx (retried; raised once the retry budget is spent)."""

    retryable = True


class ServerUnavailable(ServerError):
    """503: the server or its database is down for now."""


class TransportError(StaError):
    """No answer: the connection failed or timed out (status 0; retried)."""

    retryable = True

    def __init__(self, message: str) -> None:
        super().__init__(0, "TransportError", message)


class MqttError(StaError):
    """The broker refused or could not take a publish or subscribe (status 0, the MQTT reason code)."""

    def __init__(self, reason_code: int, message: str) -> None:
        super().__init__(0, "MqttError", message)
        self.reason_code = reason_code


_BY_STATUS: dict[int, type[StaError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 413: PayloadTooLarge,
    429: TooManyRequests, 503: ServerUnavailable,
}


def error_class(status: int) -> type[StaError]:
    """The exception type for an HTTP status that is not a success."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else ClientError
