"""One classification of database failures, whichever driver call raised them (a SQLAlchemy
statement, a raw psycopg COPY, the pool) and whichever channel asked (HTTP, `$batch`, MQTT).

The answer is a StaError; its `transient` flag is what MQTT ingest acts on:

| condition                                          | error               | HTTP | MQTT                 |
|----------------------------------------------------|---------------------|------|----------------------|
| statement timeout (57014)                          | QueryTimeout        | 503  | retry, not acked     |
| connection lost, pool timeout, server shutting down,| ServiceUnavailable  | 503  | retry, not acked     |
| out of resources, deadlock, serialization failure, |                     |      |                      |
| read-only database (25006), lock not available     |                     |      |                      |
| row-level security refusal (42501)                 | Forbidden           | 403  | reject, log, ack     |
| data error (class 22: a value the column cannot hold)| BadRequest        | 400  | reject, log, ack     |
| NOT NULL violation (23502)                         | BadRequest          | 400  | reject, log, ack     |
| other integrity errors (class 23)                  | Conflict            | 409  | reject, log, ack     |
| anything else                                      | None (a bug)        | 500  | see mqtt/ingest_retry.py |
"""
from __future__ import annotations

import logging

import psycopg
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from sta_server.errors import BadRequest, Conflict, Forbidden, QueryTimeout, ServiceUnavailable, StaError

log = logging.getLogger(__name__)

QUERY_CANCELED = "57014"
INSUFFICIENT_PRIVILEGE = "42501"
NOT_NULL_VIOLATION = "23502"
# connection exceptions (08…), shutdown / cannot connect now (57P…), insufficient resources (53…),
# serialization failure and deadlock (40…): the database's condition. Of the rest, only the states
# that cannot be a request's (or our code's) fault: a read-only database (25006: a hot standby,
# default_transaction_read_only), an idle transaction timed out (25P03), an object in use (55006),
# a lock not available (55P03). Other system or internal errors (58…, XX…) stay unexplained: MQTT
# ingest retries them while every message fails and rejects a lone one in the end (mqtt/ingest_retry.py)
_TRANSIENT_CLASSES = ("08", "57P", "53", "40")
_TRANSIENT_STATES = ("25006", "25P03", "55006", "55P03")
_CONFLICT_CLASS = "40"  # serialization failure, deadlock: transient, but not an unreachable database


def sqlstate_of(error: BaseException) -> str | None:
    """The SQLSTATE of a driver error, raw or wrapped by SQLAlchemy."""
    state = getattr(getattr(error, "orig", None), "sqlstate", None) or getattr(error, "sqlstate", None)
    return str(state) if state else None


def classify(error: BaseException) -> StaError | None:
    """The StaError a database failure means; None for anything that is not one (a bug)."""
    if isinstance(error, StaError):
        return error
    state = sqlstate_of(error)
    if state is not None:
        known = _by_state(state)
        if known is not None:
            return known
    if isinstance(error, PoolTimeout | psycopg.OperationalError | psycopg.InterfaceError) or _lost(error):
        log.warning("database unavailable: %s", type(error).__name__)
        return ServiceUnavailable()
    if isinstance(error, DataError | psycopg.DataError):  # refused by the driver (a NUL character)
        return _by_state("22000")
    if isinstance(error, IntegrityError | psycopg.IntegrityError):
        return _by_state("23000")
    return None


def waits_again(error: BaseException) -> bool:
    """A failure a second try of the same request would meet at once (a statement timeout, an
    outage): a one-statement path must not hand the request to the rule set's path, which would
    wait out the same timeout again. A conflict between transactions (deadlock, serialization
    failure) is not one: a second try usually passes."""
    known = classify(error)
    state = sqlstate_of(error) or ""
    return known is not None and known.transient and not state.startswith(_CONFLICT_CLASS)


def _lost(error: BaseException) -> bool:
    """A SQLAlchemy error whose connection broke (or that wraps a driver connection error)."""
    if not isinstance(error, DBAPIError):
        return False
    orig = error.orig
    return bool(error.connection_invalidated) or isinstance(orig, psycopg.OperationalError | psycopg.InterfaceError)


def _by_state(state: str) -> StaError | None:
    if state == QUERY_CANCELED:
        log.warning("statement timeout")
        return QueryTimeout()
    if state.startswith(_CONFLICT_CLASS):
        log.warning("concurrent transactions conflicted (SQLSTATE %s)", state)
        return ServiceUnavailable("A concurrent change conflicted with this request (deadlock or serialization "
                                  "failure); nothing of it was stored; retry")
    if state.startswith(_TRANSIENT_CLASSES) or state in _TRANSIENT_STATES:
        log.warning("database busy or unavailable (SQLSTATE %s)", state)
        return ServiceUnavailable()
    if state == INSUFFICIENT_PRIVILEGE:
        log.info("refused by row-level security")
        return Forbidden("Not allowed on this entity")
    if state.startswith("22"):
        log.info("value refused by the database (SQLSTATE %s)", state)
        return BadRequest("A value in the request cannot be stored or compared here (a NUL character?)")
    if state == NOT_NULL_VIOLATION:
        return BadRequest("A mandatory value is missing")
    if state.startswith("23"):
        log.info("integrity violation (SQLSTATE %s)", state)
        return Conflict("The request conflicts with stored data (an entity it links went away?)")
    return None

