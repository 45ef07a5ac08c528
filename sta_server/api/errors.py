"""Every error as an OData v4 JSON body: StaError, Werkzeug HTTP errors, and unknown exceptions."""
from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, Response, jsonify
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from sta_server.errors import BadRequest, Forbidden, ServiceUnavailable, StaError, Unauthorized

log = logging.getLogger(__name__)

_HTTP_CODES = {404: "NotFound", 405: "MethodNotAllowed", 413: "PayloadTooLarge", 415: "UnsupportedMediaType"}
QUERY_CANCELED = "57014"  # SQLSTATE of a statement cancelled by statement_timeout
INSUFFICIENT_PRIVILEGE = "42501"  # SQLSTATE of a row-level security refusal (sql/policies.py)
CHALLENGE = 'Basic realm="SensorThings", Bearer realm="SensorThings"'


class QueryTimeout(StaError):
    """A statement ran into STA_STATEMENT_TIMEOUT_MS: the server refuses to spend more on it (503;
    no Retry-After, as the same query is likely to take as long again)."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "QueryTimeout"
    message = "The query took too long and was cancelled; narrow it ($filter, $top, $expand)"


def _respond(error: StaError) -> Response:
    response = jsonify(error.to_json())
    response.status_code = int(error.status)
    if isinstance(error, ServiceUnavailable):
        response.headers["Retry-After"] = "5"
    if isinstance(error, Unauthorized):
        response.headers["WWW-Authenticate"] = CHALLENGE
    return response


def _sta_error(error: StaError) -> Response:
    if error.status >= 500:
        log.error("%s: %s", error.code, error.message)
    else:
        log.info("rejected: %s %s", error.code, error.message)
    return _respond(error)


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    body = StaError(error.description or error.name)
    body.code = _HTTP_CODES.get(status, error.name.replace(" ", ""))
    response = jsonify(body.to_json())
    response.status_code = status
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value  # e.g. `Allow` on 405
    return response


def database_error(error: Exception) -> StaError | None:
    """The error a database failure answers with (timeout, refused value, unreachable); None for a bug."""
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    if sqlstate == QUERY_CANCELED:
        log.warning("statement timeout: %s", type(error).__name__)
        return QueryTimeout()
    if sqlstate == INSUFFICIENT_PRIVILEGE:
        log.info("refused by row-level security: %s", getattr(error, "orig", error))
        return Forbidden("Not allowed on this entity")
    if isinstance(error, DataError):  # a value the database cannot hold or compare: the input's fault
        log.info("value refused by the database: %s", type(getattr(error, "orig", error)).__name__)
        return BadRequest("A value in the request cannot be stored or compared here (a NUL character?)")
    unreachable = isinstance(error, OperationalError | InterfaceError | PoolTimeout)
    if unreachable or getattr(error, "connection_invalidated", False):
        log.warning("database unavailable: %s", type(error).__name__)
        return ServiceUnavailable()
    return None


def _db_unavailable(error: Exception) -> Response:
    known = database_error(error)
    return _unknown(error) if known is None else _respond(known)


def _unknown(error: Exception) -> Response:
    log.error("unhandled error", exc_info=error)
    response = jsonify(StaError("Internal server error").to_json())
    response.status_code = 500
    return response


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(StaError, _sta_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DBAPIError, _db_unavailable)
    app.register_error_handler(PoolTimeout, _db_unavailable)  # every connection busy or unreachable
    app.register_error_handler(Exception, _unknown)
