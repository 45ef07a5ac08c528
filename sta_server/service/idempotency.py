"""Exactly-once creates for clients that retry: a request carrying an idempotency key is stored
once; a retry (or a concurrent duplicate, which waits on the key's unique index) gets the first
answer back. Keys live in `idempotency_keys` (sql/idempotency.py) for the retention period."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from sta_server.errors import BadRequest, Conflict
from sta_server.sql.idempotency import claim_keys, prune_keys, read_key, record_answer, release_keys
from sta_server.sql.idempotency_tables import KEY_MAX_LENGTH

HTTP_SCOPE = "http"
MQTT_SCOPE = "mqtt"


@dataclass(frozen=True)
class Answer:
    """What the first request answered (replayed to its retries)."""

    status: int
    body: Any
    location: str | None


def check_key(key: str) -> str:
    if not key or len(key) > KEY_MAX_LENGTH:
        raise BadRequest(f"An idempotency key has 1 to {KEY_MAX_LENGTH} characters")
    return key


def fingerprint(method: str, target: str, body: bytes) -> str:
    """The request a key was first used with: a reuse for another request is an error."""
    digest = hashlib.sha256(f"{method} {target}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def begin_once(conn: Connection, key: str, print_: str, owner: str) -> Answer | None:
    """Claim `owner`'s `key` for this transaction (None: go ahead, then `finish_once`), or the
    answer of `owner`'s request that already used it. Keys are the sender's own (`owner`, the
    principal's name): another user's equal key is another key, neither refused nor revealed."""
    key = message_key(owner, check_key(key))
    if claim_keys(conn, HTTP_SCOPE, [key], print_):
        return None
    row = read_key(conn, HTTP_SCOPE, key)
    if row is None:  # pruned between the two statements: extremely unlikely, treat as in use
        raise Conflict("The idempotency key is in use; retry")
    if row.fingerprint != print_:
        raise Conflict("The idempotency key was used for a different request")
    if row.status is None:
        raise Conflict("The idempotency key belongs to a request without a replayable answer")
    return Answer(int(row.status), row.body, row.location)


def finish_once(conn: Connection, key: str, answer: Answer, owner: str) -> None:
    """Keep the answer with `owner`'s key, in the same transaction as the writes it reports."""
    record_answer(conn, HTTP_SCOPE, message_key(owner, key), answer.status, answer.body, answer.location)


def message_key(owner: str, key: str) -> str:
    """The stored form of a key (an HTTP request's or an MQTT message's): the sender's (`owner`)
    own, so that one user's key never suppresses or answers another's (SHA-256 of both, 64 characters)."""
    return hashlib.sha256(f"{owner}\n{key}".encode()).hexdigest()


def claim_messages(conn: Connection, keys: list[str], owner: str) -> set[str]:
    """Claim `owner`'s MQTT message keys; returns those not stored before (the others are duplicates)."""
    stored = {message_key(owner, key): key for key in keys}
    return {stored[claimed] for claimed in claim_keys(conn, MQTT_SCOPE, stored)}


def release_messages(conn: Connection, keys: list[str], owner: str) -> None:
    """Give back the keys of messages that were rejected (nothing was stored under them)."""
    release_keys(conn, MQTT_SCOPE, [message_key(owner, key) for key in keys])


def forget_old_keys(conn: Connection, retention: timedelta) -> int:
    return prune_keys(conn, retention)
