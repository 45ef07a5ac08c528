"""What MQTT ingest does when storing a batch fails: nothing the broker acknowledged may be lost, so
a message is acknowledged without being stored only for a fault of its own.

- A database condition (service/database_errors.py: timeout, outage, read-only standby, lock, out of
  resources) leaves the whole batch unacknowledged; it is tried again with back-off.
- Any other failure of a batch: each message is tried alone. Bad input the database refused is
  rejected (acknowledged, counted, logged). A failure that nothing explains (no SQLSTATE we know, a
  bug) is the message's own only if others of the same round were stored; when every message fails
  that way it is the database's condition too, and they are tried again, unacknowledged. A message
  that fails unexplained alone for `UNEXPLAINED_ROUNDS` rounds (about 15 s) is rejected with an
  ERROR, so that one poisonous message cannot stop the ingest for good.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from sta_server.service.database_errors import classify

log = logging.getLogger(__name__)
UNEXPLAINED_ROUNDS = 5
FIRST_DELAY_S = 0.5
LONGEST_DELAY_S = 10.0


class Message(Protocol):
    @property
    def topic(self) -> str: ...


M = TypeVar("M", bound=Message)
Store = Callable[[list[M]], None]  # stores and acknowledges, or raises with nothing acknowledged
Refuse = Callable[[M, str, str], None]  # counts, logs and acknowledges a rejected message


def store_with_retry(batch: Sequence[M], store: Store[M], refuse: Refuse[M],
                     sleep: Callable[[float], None] = time.sleep) -> None:
    pending, delay, rounds = list(batch), FIRST_DELAY_S, 0
    while pending:
        try:
            store(pending)
            return
        except Exception as error:
            known = classify(error)
            if known is None or not known.transient:
                rounds += 1
                pending = _store_apart(pending, store, refuse, give_up=rounds >= UNEXPLAINED_ROUNDS)
                if not pending:
                    return
                reason = "every message failed unexplained" if known is None else known.code
            else:
                reason = known.code
            log.warning("database condition during MQTT ingest (%s); %d messages wait unacknowledged, "
                        "retrying in %.1fs", reason, len(pending), delay)
            sleep(delay)
            delay = min(delay * 2, LONGEST_DELAY_S)


def _store_apart(batch: list[M], store: Store[M], refuse: Refuse[M], *, give_up: bool) -> list[M]:
    """Each message alone; what is left to try again (unacknowledged)."""
    unexplained: list[tuple[M, Exception]] = []
    stored = False
    for index, message in enumerate(batch):
        try:
            store([message])
            stored = True
        except Exception as error:
            known = classify(error)
            if known is None:
                unexplained.append((message, error))
            elif known.transient:  # the database's condition after all: the rest waits
                return [m for m, _ in unexplained] + batch[index:]
            else:
                refuse(message, known.code, known.message)
    if unexplained and not stored and not give_up:
        return [m for m, _ in unexplained]
    for message, failure in unexplained:
        log.error("MQTT message on %s cannot be stored (unexplained failure); rejected", message.topic,
                  exc_info=failure)
        refuse(message, "InternalError", "unexplained failure")
    return []
