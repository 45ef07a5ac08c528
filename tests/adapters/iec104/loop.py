"""A site data set and Task sink for driving the SCADA link in tests, and a free TCP port."""
from __future__ import annotations

import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from adapters.connector import Reading
from clock import Clock, RealClock


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DataSet:
    """The latest reading per key (as the host's data set) and what the link published."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        now = datetime.now(UTC)
        self.readings = {key: Reading(key, value, now) for key, value in values.items()}
        self.published: list[Reading] = []
        self._clock = RealClock()

    @property
    def clock(self) -> Clock:
        return self._clock

    def latest(self, datastream: str) -> Reading | None:
        return self.readings.get(datastream)

    def set(self, key: str, value: Any) -> None:
        self.readings[key] = Reading(key, value, datetime.now(UTC))

    def publish(self, reading: Reading, *, event: bool = False) -> None:
        self.published.append(reading)

    def statuses(self) -> list[str]:
        return [str(reading.value) for reading in self.published]


class Recorded:
    """A Task sink that keeps the Tasks (the end-to-end test uses the server's)."""

    def __init__(self, fail: bool = False) -> None:
        self.tasks: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    async def create(self, capability: str, parameters: Mapping[str, Any]) -> int:
        if self.fail:
            raise ConnectionError("server unreachable")
        self.tasks.append((capability, dict(parameters)))
        return len(self.tasks)
