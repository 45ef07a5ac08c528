"""Every error as an OData v4 JSON body: StaError, Werkzeug HTTP errors, and unknown exceptions."""
from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from psycopg import Error as DriverError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from sta_server.errors import ServiceUnavailable, StaError, Unauthorized
from sta_server.service.database_errors import classify

log = logging.getLogger(__name__)

_HTTP_CODES = {404: "NotFound", 405: "MethodNotAllowed", 413: "PayloadTooLarge", 415: "UnsupportedMediaType"}
CHALLENGE = 'Basic realm="SensorThings", Bearer realm="SensorThings"'


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


def _db_unavailable(error: Exception) -> Response:
    known = classify(error)  # service/database_errors.py; None for a bug
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
    app.register_error_handler(DriverError, _db_unavailable)  # raw driver calls (COPY), if one escapes
    app.register_error_handler(PoolTimeout, _db_unavailable)  # every connection busy or unreachable
    app.register_error_handler(Exception, _unknown)
