"""The ingest's failure policy (mqtt/ingest_retry.py): a message is acknowledged unstored only for a
fault of its own; the database's condition keeps everything unacknowledged and retried."""
from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pytest

from sta_server.mqtt import ingest_retry
from sta_server.mqtt.ingest_retry import store_with_retry


@dataclass(frozen=True)
class Message:
    topic: str


class Storage:
    """Stores what `fails` does not refuse; counts the rounds."""

    def __init__(self, fails: dict[str, list[Exception]]) -> None:
        self.fails = fails  # topic -> errors raised by its next attempts (then it is stored)
        self.stored: list[str] = []
        self.refused: list[tuple[str, str]] = []
        self.sleeps: list[float] = []

    def store(self, batch: list[Message]) -> None:
        for message in batch:
            errors = self.fails.get(message.topic, [])
            if errors:
                raise errors.pop(0)
        self.stored.extend(m.topic for m in batch)

    def refuse(self, message: Message, code: str, reason: str) -> None:
        self.refused.append((message.topic, code))

    def run(self, topics: list[str]) -> None:
        store_with_retry([Message(t) for t in topics], self.store, self.refuse, sleep=self.sleeps.append)


def test_a_read_only_database_is_waited_out_with_nothing_refused() -> None:
    storage = Storage({"a": [psycopg.errors.ReadOnlySqlTransaction("read-only")] * 3})
    storage.run(["a", "b"])
    assert storage.stored == ["a", "b"] and storage.refused == [] and len(storage.sleeps) == 3


def test_bad_input_is_refused_alone_and_the_rest_stored() -> None:
    storage = Storage({"b": [psycopg.errors.NumericValueOutOfRange("1e400")] * 9})
    storage.run(["a", "b", "c"])
    assert storage.stored == ["a", "c"] and storage.refused == [("b", "BadRequest")]


def test_an_unexplained_failure_of_one_message_among_stored_ones_is_refused() -> None:
    storage = Storage({"b": [RuntimeError("a bug")] * 9})
    storage.run(["a", "b", "c"])
    assert storage.stored == ["a", "c"] and storage.refused == [("b", "InternalError")]


def test_when_every_message_fails_unexplained_they_wait_unacknowledged() -> None:
    condition = RuntimeError("the database's doing")
    storage = Storage({"a": [condition] * 2, "b": [condition]})  # the batch, then each alone: all fail
    storage.run(["a", "b"])
    assert sorted(storage.stored) == ["a", "b"] and storage.refused == [] and storage.sleeps


def test_a_message_failing_unexplained_alone_is_refused_after_the_last_round() -> None:
    rounds = ingest_retry.UNEXPLAINED_ROUNDS
    storage = Storage({"a": [RuntimeError("poison")] * (rounds * 3)})
    storage.run(["a"])
    assert storage.stored == [] and storage.refused == [("a", "InternalError")]
    assert len(storage.sleeps) == rounds - 1


@pytest.mark.parametrize("error", [
    psycopg.errors.ReadOnlySqlTransaction("25006"), psycopg.errors.ObjectInUse("55006"),
    psycopg.errors.InternalError_("XX000"), psycopg.errors.SystemError("58000")])
def test_database_states_that_are_conditions_never_refuse(error: Exception) -> None:
    storage = Storage({"a": [error] * 2})
    storage.run(["a"])
    assert storage.stored == ["a"] and storage.refused == []
