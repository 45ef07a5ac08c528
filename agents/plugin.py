"""The contract between the SMX plug-in host and its local plug-ins (LESSAg, LEVChAg).

A plug-in is a small decision over the site's shared data set, run every `period_s` of the clock,
plus a handler for the Tasks of the capabilities it owns. It never talks to the server or to a
device itself: it reads `SiteContext.latest`, sends `Command`s through `SiteContext.command` (to the
device's connector) and returns or publishes `Reading`s, which the host puts in the durable queue.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from adapters.connector import Command, CommandResult, Reading
from clock import Clock


@dataclass(frozen=True)
class TaskMessage:
    """A Task of one of the site's TaskingCapabilities, as the host received it."""

    task_id: int | str
    capability: str  # the site file's key of the TaskingCapability
    device: str  # the site file's key of the device (Thing) whose Actuator holds it
    parameters: Mapping[str, Any]  # the Task's taskingParameters
    created: datetime | None  # the Task's creationTime (server time)


class SiteContext(Protocol):
    """What the host offers a plug-in."""

    @property
    def clock(self) -> Clock: ...

    def latest(self, datastream: str) -> Reading | None:
        """The newest reading of a site Datastream key (from a connector or a plug-in)."""
        ...

    def publish(self, reading: Reading, *, event: bool = False) -> None:
        """Store a reading locally and queue it for the server (durable once this returns). A
        periodic output is a measurement (the oldest are dropped when the queue is over its bound);
        `event=True` (a mode change) is never dropped."""
        ...

    async def command(self, command: Command) -> CommandResult:
        """Send a command to the device's connector and return what it read back."""
        ...


class Plugin(Protocol):
    """A local agent: a periodic decision and the Tasks of its capabilities."""

    @property
    def name(self) -> str: ...

    @property
    def period_s(self) -> float: ...

    @property
    def capabilities(self) -> Collection[str]:
        """Keys of the TaskingCapabilities whose Tasks this plug-in takes."""
        ...

    async def on_task(self, task: TaskMessage, site: SiteContext) -> list[Reading]:
        """Take a Task: return the acknowledgement readings (accepted true/false with the Task id
        and a reason). The host stores them and marks the Task handled in one local transaction;
        on restart it hands handled Tasks in again to rebuild state and drops those readings."""
        ...

    async def cycle(self, site: SiteContext) -> None:
        """One decision: read the data set, command devices, publish what was done."""
        ...
